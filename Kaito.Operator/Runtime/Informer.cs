using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Operator.Kubernetes;
using Kaito.ServiceDefaults.Resilience;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Runtime;

/// <summary>
/// A shared informer for one kind across all namespaces: lists, then watches from the list's resource version with
/// bookmarks; re-lists on 410 Gone (diffing against its cache, so no change is lost or repeated); reconnects with
/// jittered exponential backoff, also after a watch that ended at once without news (a server that accepts and drops
/// watches must not make it spin), and logs a failure that repeats once a <see cref="InformerOptions.FailureLogInterval"/>;
/// delivers every cached object again each resync period. The cache is indexed by namespace and by
/// any index a controller adds.
/// </summary>
public sealed partial class Informer<T> : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public const string NamespaceIndex = "namespace";

    // A watch that ends sooner than this without sending anything counts as a failure.
    private static readonly TimeSpan MinimumQuietWatch = TimeSpan.FromSeconds(1);

    private readonly KubernetesApi _api;
    private readonly InformerOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, T> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<T, IEnumerable<string>>> _indexers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, HashSet<string>>> _indexes = new(StringComparer.Ordinal);
    private string _resourceVersion = "";
    private volatile bool _synced;
    private long _lastProgress;
    private int _lists;

    public Informer(KubernetesApi api, ResourceKind kind, InformerOptions options, TimeProvider clock, ILogger logger)
    {
        _api = api;
        Kind = kind;
        _options = options;
        _clock = clock;
        _logger = logger;
        _lastProgress = clock.GetTimestamp();
        AddIndex(NamespaceIndex, item => [item.Metadata.NamespaceProperty ?? ""]);
    }

    public ResourceKind Kind { get; }

    /// <summary>
    /// Caches only objects matching this label selector (set before the informer runs), e.g. <c>kaito.sh/workspace</c>
    /// for the pods of workspaces rather than every pod of the cluster.
    /// </summary>
    public string? LabelSelector { get; set; }

    private string SelectorQuery => string.IsNullOrEmpty(LabelSelector) ? "" : $"&labelSelector={Uri.EscapeDataString(LabelSelector)}";

    /// <summary>Raised for each change, outside the cache's lock; handlers should only enqueue work.</summary>
    public event Action<InformerEvent<T>>? Changed;

    public bool HasSynced => _synced;

    /// <summary>How many full lists the informer made: one at start, one more after each expired watch.</summary>
    public int Lists => Volatile.Read(ref _lists);

    /// <summary>When the informer last heard from the API server (a list, an event or a bookmark).</summary>
    public TimeSpan SinceLastProgress => _clock.GetElapsedTime(Interlocked.Read(ref _lastProgress));

    /// <summary>Adds an index before the informer runs, e.g. by owner UID or by a label.</summary>
    public void AddIndex(string name, Func<T, IEnumerable<string>> keys)
    {
        lock (_gate)
        {
            _indexers[name] = keys;
            _indexes[name] = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        }
    }

    public T? Get(string? @namespace, string name)
    {
        lock (_gate)
        {
            return _items.GetValueOrDefault(Key(@namespace, name));
        }
    }

    public IReadOnlyList<T> List(string? @namespace = null) =>
        @namespace is null ? Snapshot(_items.Values) : ByIndex(NamespaceIndex, @namespace);

    public IReadOnlyList<T> ByIndex(string index, string value)
    {
        lock (_gate)
        {
            return _indexes[index].TryGetValue(value, out var keys) ? keys.Select(k => _items[k]).ToList() : [];
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(ListAndWatchAsync(cancellationToken), ResyncAsync(cancellationToken));
    }

    private async Task ListAndWatchAsync(CancellationToken cancellationToken)
    {
        var backoff = new ExponentialBackoff(_options.InitialBackoff, _options.MaxBackoff);
        var failures = new RepeatedFailureLog(_clock, _options.FailureLogInterval);
        while (!cancellationToken.IsCancellationRequested)
        {
            string? failure;
            try
            {
                if (_resourceVersion.Length == 0)
                {
                    await ListAsync(cancellationToken);
                }

                var opened = _clock.GetTimestamp();
                var events = await WatchAsync(cancellationToken);
                if (events > 0 || _clock.GetElapsedTime(opened) >= MinimumQuietWatch)
                {
                    backoff.Reset();
                    failures.Reset();
                    continue;
                }

                failure = "the watch ended at once without an event";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResourceVersionExpiredException)
            {
                LogExpired(_logger, Kind, _resourceVersion);
                _resourceVersion = "";
                continue;
            }
            catch (Exception ex) when (ex is HttpRequestException or HttpOperationException or IOException or JsonException or KubernetesException
                                           or OperationCanceledException or InvalidOperationException or KeyNotFoundException)
            {
                failure = ex.Message;
            }

            var delay = backoff.Next();
            if (failures.ShouldLog(out var suppressed))
            {
                LogRetrying(_logger, Kind, delay.TotalSeconds, suppressed, failure);
            }

            await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var listed = new Dictionary<string, T>(StringComparer.Ordinal);
        string? continueToken = null;
        var resourceVersion = "";
        while (true)
        {
            var query = $"{Kind.CollectionPath}?limit={_options.PageSize}{SelectorQuery}" + (continueToken is null ? "" : $"&continue={Uri.EscapeDataString(continueToken)}");
            HttpResponseMessage response;
            try
            {
                response = await _api.SendAsync(HttpMethod.Get, query, null, cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.Gone && continueToken is not null)
            {
                // the continue token expired mid-list: start the list again
                listed.Clear();
                continueToken = null;
                continue;
            }

            using (response)
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
                var metadata = document.RootElement.GetProperty("metadata");
                resourceVersion = metadata.TryGetProperty("resourceVersion", out var rv) ? rv.GetString() ?? "" : "";
                continueToken = metadata.TryGetProperty("continue", out var next) && next.GetString() is { Length: > 0 } token ? token : null;
                foreach (var element in document.RootElement.GetProperty("items").EnumerateArray())
                {
                    var item = KubernetesJson.Deserialize<T>(element.GetRawText());
                    listed[Key(item.Metadata.NamespaceProperty, item.Metadata.Name)] = item;
                }
            }

            if (continueToken is null)
            {
                break;
            }
        }

        Replace(listed);
        Interlocked.Increment(ref _lists);
        _resourceVersion = resourceVersion;
        _synced = true;
        Touch();
        LogListed(_logger, Kind, listed.Count, resourceVersion);
    }

    /// <summary>Watches until the server ends the stream; returns how many lines (events and bookmarks) it sent.</summary>
    private async Task<int> WatchAsync(CancellationToken cancellationToken)
    {
        var received = 0;
        var timeout = (int)_options.WatchTimeout.TotalSeconds;
        var query = $"{Kind.CollectionPath}?watch=true&allowWatchBookmarks=true&resourceVersion={_resourceVersion}&timeoutSeconds={timeout}{SelectorQuery}";
        HttpResponseMessage response;
        try
        {
            response = await _api.SendAsync(HttpMethod.Get, query, null, cancellationToken);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.Gone)
        {
            throw new ResourceVersionExpiredException();
        }

        using (response)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(body);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                Touch();
                received++;
                using var document = JsonDocument.Parse(line);
                var type = document.RootElement.GetProperty("type").GetString();
                var element = document.RootElement.GetProperty("object");
                switch (type)
                {
                    case "ADDED" or "MODIFIED":
                        var item = KubernetesJson.Deserialize<T>(element.GetRawText());
                        Upsert(item);
                        _resourceVersion = item.Metadata.ResourceVersion;
                        break;
                    case "DELETED":
                        var gone = KubernetesJson.Deserialize<T>(element.GetRawText());
                        Remove(gone);
                        _resourceVersion = gone.Metadata.ResourceVersion;
                        break;
                    case "BOOKMARK":
                        _resourceVersion = element.GetProperty("metadata").GetProperty("resourceVersion").GetString() ?? _resourceVersion;
                        break;
                    case "ERROR":
                        var status = KubernetesJson.Deserialize<V1Status>(element.GetRawText());
                        throw status.Code == 410 ? new ResourceVersionExpiredException() : new KubernetesException(status);
                }
            }
        }

        return received;
    }

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(_options.ResyncPeriod, _clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            foreach (var item in List())
            {
                Changed?.Invoke(new InformerEvent<T>(InformerEventType.Updated, item, item));
            }
        }
    }

    /// <summary>Takes a fresh list as the truth: adds, updates and deletes exactly what differs from the cache.</summary>
    private void Replace(Dictionary<string, T> listed)
    {
        List<InformerEvent<T>> events = [];
        lock (_gate)
        {
            foreach (var (key, old) in _items.ToList())
            {
                if (!listed.ContainsKey(key))
                {
                    Unindex(key, old);
                    _items.Remove(key);
                    events.Add(new InformerEvent<T>(InformerEventType.Deleted, old, old));
                }
            }

            foreach (var (key, item) in listed)
            {
                var old = _items.GetValueOrDefault(key);
                if (old?.Metadata.ResourceVersion == item.Metadata.ResourceVersion)
                {
                    continue;
                }

                Store(key, item, old);
                events.Add(new InformerEvent<T>(old is null ? InformerEventType.Added : InformerEventType.Updated, item, old));
            }
        }

        foreach (var change in events)
        {
            Changed?.Invoke(change);
        }
    }

    private void Upsert(T item)
    {
        var key = Key(item.Metadata.NamespaceProperty, item.Metadata.Name);
        T? old;
        lock (_gate)
        {
            old = _items.GetValueOrDefault(key);
            if (old?.Metadata.ResourceVersion == item.Metadata.ResourceVersion)
            {
                return;
            }

            Store(key, item, old);
        }

        Changed?.Invoke(new InformerEvent<T>(old is null ? InformerEventType.Added : InformerEventType.Updated, item, old));
    }

    private void Remove(T item)
    {
        var key = Key(item.Metadata.NamespaceProperty, item.Metadata.Name);
        lock (_gate)
        {
            if (!_items.Remove(key, out var old))
            {
                return;
            }

            Unindex(key, old);
        }

        Changed?.Invoke(new InformerEvent<T>(InformerEventType.Deleted, item, null));
    }

    private void Store(string key, T item, T? old)
    {
        if (old is not null)
        {
            Unindex(key, old);
        }

        _items[key] = item;
        foreach (var (name, keys) in _indexers)
        {
            foreach (var value in keys(item))
            {
                if (!_indexes[name].TryGetValue(value, out var set))
                {
                    _indexes[name][value] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(key);
            }
        }
    }

    private void Unindex(string key, T item)
    {
        foreach (var (name, keys) in _indexers)
        {
            foreach (var value in keys(item))
            {
                if (_indexes[name].TryGetValue(value, out var set))
                {
                    set.Remove(key);
                    if (set.Count == 0)
                    {
                        _indexes[name].Remove(value);
                    }
                }
            }
        }
    }

    private List<T> Snapshot(IEnumerable<T> items)
    {
        lock (_gate)
        {
            return items.ToList();
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastProgress, _clock.GetTimestamp());

    private static string Key(string? @namespace, string name) =>
        string.IsNullOrEmpty(@namespace) ? name : string.Create(CultureInfo.InvariantCulture, $"{@namespace}/{name}");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listed {Kind}: {Count} objects at resource version {ResourceVersion}")]
    private static partial void LogListed(ILogger logger, ResourceKind kind, int count, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Kind} expired at resource version {ResourceVersion}; listing again")]
    private static partial void LogExpired(ILogger logger, ResourceKind kind, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Watch of {Kind} failed; reconnecting in {DelaySeconds:0.##} s ({Suppressed} more failures since the last report): {Reason}")]
    private static partial void LogRetrying(ILogger logger, ResourceKind kind, double delaySeconds, int suppressed, string reason);

    private sealed class ResourceVersionExpiredException : Exception;
}
