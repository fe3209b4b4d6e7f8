using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Storage;

/// <summary>
/// Every object of the cluster, one global resource version, and the recent history of changes that watches resume
/// from. All writes go through one lock, so revisions are strictly increasing and each watch sees changes in order.
/// Stored objects are immutable: writers store new <see cref="JsonObject"/>s, readers clone before changing one.
/// </summary>
public sealed partial class ClusterStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<(string Namespace, string Name), JsonObject>> _objects = [];
    private readonly LinkedList<StoreEvent> _history = new();
    private readonly List<Watcher> _watchers = [];
    private readonly IObjectPersistence _persistence;
    private readonly TimeProvider _clock;
    private readonly int _historyLimit;
    private readonly int _watchBuffer;
    private long _revision;

    public ClusterStore(IOptions<LocalClusterOptions> options, TimeProvider clock, IObjectPersistence persistence)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clock = clock;
        _persistence = persistence;
        _historyLimit = options.Value.WatchHistory;
        _watchBuffer = options.Value.WatchBuffer;
        var (items, revision) = persistence.Load();
        foreach (var (key, item) in items)
        {
            if (!_objects.TryGetValue(key.GroupResource, out var resource))
            {
                _objects[key.GroupResource] = resource = [];
            }

            resource[(key.Namespace, key.Name)] = item;
        }

        _revision = revision;
    }

    /// <summary>The newest resource version.</summary>
    public long Revision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    public JsonObject? Get(ObjectKey key)
    {
        lock (_gate)
        {
            return Find(key);
        }
    }

    /// <summary>The objects of a resource (in one namespace, or all), ordered by namespace and name, at one revision.</summary>
    public (IReadOnlyList<JsonObject> Items, long Revision) List(string groupResource, string? @namespace)
    {
        lock (_gate)
        {
            return (Scan(groupResource, @namespace).ToList(), _revision);
        }
    }

    /// <summary>
    /// Starts a watch. With no revision (or "0") it first replays the current objects as ADDED; with a revision it
    /// replays every retained change after it, or fails with 410 Gone when that part of the history is gone. Beyond the
    /// replay a watch buffers at most <see cref="LocalClusterOptions.WatchBuffer"/> changes: a client that falls further
    /// behind has its watch closed, as kube-apiserver's cache does with slow watchers, and resumes from its last revision.
    /// </summary>
    public Watch StartWatch(string groupResource, string? @namespace, string? resourceVersion)
    {
        lock (_gate)
        {
            List<StoreEvent> replay;
            if (string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0")
            {
                replay = [.. Scan(groupResource, @namespace).Select(item => new StoreEvent(StoreEvent.Added, groupResource, NamespaceOf(item), RevisionOf(item), item, null))];
            }
            else
            {
                var from = ParseRevision(resourceVersion);
                var oldest = _history.First?.Value.Revision ?? _revision + 1;
                if (from < oldest - 1 && from < _revision)
                {
                    throw ApiException.Gone($"too old resource version: {from} ({oldest - 1})");
                }

                replay = [.. _history.Where(e => e.Revision > from && Matches(e, groupResource, @namespace))];
            }

            var channel = Channel.CreateBounded<StoreEvent>(new BoundedChannelOptions(replay.Count + _watchBuffer)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            foreach (var change in replay)
            {
                channel.Writer.TryWrite(change);
            }

            var watcher = new Watcher(groupResource, @namespace, channel.Writer);
            _watchers.Add(watcher);
            return new Watch(channel.Reader, () => Stop(watcher), _revision);
        }
    }

    /// <summary>Closes every open watch, as an API server restart would (fault injection and shutdown).</summary>
    public void CloseWatches()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }

            _watchers.Clear();
        }
    }

    public static long ParseRevision(string resourceVersion) =>
        long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiException.BadRequest($"invalid resource version: {resourceVersion}");

    public static long RevisionOf(JsonObject item) =>
        long.Parse((string)item["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);

    public static string? NamespaceOf(JsonObject item) => (string?)item["metadata"]?["namespace"];

    private void Stop(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }

        watcher.Writer.TryComplete();
    }

    private JsonObject? Find(ObjectKey key) =>
        _objects.TryGetValue(key.GroupResource, out var items) && items.TryGetValue((key.Namespace, key.Name), out var item) ? item : null;

    private IEnumerable<JsonObject> Scan(string groupResource, string? @namespace)
    {
        if (!_objects.TryGetValue(groupResource, out var items))
        {
            return [];
        }

        return string.IsNullOrEmpty(@namespace) ? items.Values : items.Where(i => i.Key.Namespace == @namespace).Select(i => i.Value);
    }

    private static bool Matches(StoreEvent change, string groupResource, string? @namespace) =>
        change.GroupResource == groupResource && (string.IsNullOrEmpty(@namespace) || change.Namespace == @namespace);

    /// <summary>
    /// Stores <paramref name="item"/> at the next revision and tells the watches. Caller holds the lock. The write is
    /// durable before memory changes, so a failed write leaves the store as it was.
    /// </summary>
    private JsonObject Put(ObjectKey key, JsonObject item)
    {
        var previous = Find(key);
        var revision = _revision + 1;
        item["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        _persistence.Put(key, item, revision);
        _revision = revision;
        if (!_objects.TryGetValue(key.GroupResource, out var items))
        {
            _objects[key.GroupResource] = items = [];
        }

        items[(key.Namespace, key.Name)] = item;
        Publish(new StoreEvent(previous is null ? StoreEvent.Added : StoreEvent.Modified, key.GroupResource, NullIfEmpty(key.Namespace), _revision, item, previous));
        return item;
    }

    /// <summary>Removes an object; the DELETED event carries it at a new revision. Caller holds the lock.</summary>
    private JsonObject Remove(ObjectKey key)
    {
        var previous = Find(key)!;
        var revision = _revision + 1;
        _persistence.Delete(key, revision);
        _revision = revision;
        _objects[key.GroupResource].Remove((key.Namespace, key.Name));
        var gone = previous.DeepClone().AsObject();
        gone["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        Publish(new StoreEvent(StoreEvent.Deleted, key.GroupResource, NullIfEmpty(key.Namespace), _revision, gone, previous));
        return gone;
    }

    private void Publish(StoreEvent change)
    {
        _history.AddLast(change);
        while (_history.Count > _historyLimit)
        {
            _history.RemoveFirst();
        }

        List<Watcher>? slow = null;
        foreach (var watcher in _watchers)
        {
            if (Matches(change, watcher.GroupResource, watcher.Namespace) && !watcher.Writer.TryWrite(change))
            {
                // Its buffer is full: end that watch (the client re-watches from the last revision it saw) rather than
                // hold the change, or every change after it, in memory for a client that is not reading.
                watcher.Writer.TryComplete();
                (slow ??= []).Add(watcher);
            }
        }

        foreach (var watcher in slow ?? [])
        {
            _watchers.Remove(watcher);
        }

        Changed?.Invoke(change);
    }

    /// <summary>Raised under the store's lock after every change; handlers must be quick and must not write.</summary>
    public event Action<StoreEvent>? Changed;

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private string Now() => Now(TimeSpan.Zero);

    private string Now(TimeSpan ahead) => (_clock.GetUtcNow().UtcDateTime + ahead).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private sealed record Watcher(string GroupResource, string? Namespace, ChannelWriter<StoreEvent> Writer);
}

/// <summary>An open watch: its events, and how to stop it.</summary>
public sealed class Watch(ChannelReader<StoreEvent> events, Action stop, long startRevision) : IDisposable
{
    public ChannelReader<StoreEvent> Events { get; } = events;

    /// <summary>The store's revision when the watch started.</summary>
    public long StartRevision { get; } = startRevision;

    public void Dispose() => stop();
}
