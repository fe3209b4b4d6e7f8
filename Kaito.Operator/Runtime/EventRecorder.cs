using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Runtime;

/// <summary>
/// Writes Kubernetes Events (core/v1, as <c>kubectl describe</c> shows them) for a component, off the reconcile path:
/// <see cref="Record"/> queues and returns. A repeat of the same object, type, reason and message within the
/// aggregation window bumps the existing Event's <c>count</c> and <c>lastTimestamp</c> instead of creating another, as
/// client-go's recorder does. Failures to write are logged, never thrown into a reconcile.
/// </summary>
public sealed partial class EventRecorder(IKubernetes client, string component, TimeProvider clock, ILogger<EventRecorder> logger) : BackgroundService
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    private static readonly TimeSpan s_aggregationWindow = TimeSpan.FromMinutes(10);
    private readonly Channel<(V1ObjectReference Object, string Type, string Reason, string Message)> _pending =
        Channel.CreateBounded<(V1ObjectReference, string, string, string)>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly ConcurrentDictionary<string, (string Name, int Count, DateTimeOffset Last)> _recent = new();
    private readonly string _host = Environment.MachineName;

    /// <summary>Queues an event about <paramref name="involved"/>.</summary>
    public void Record<T>(T involved, string type, string reason, string message)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(involved);
        ArgumentNullException.ThrowIfNull(message);
        // Objects from a list carry no kind or apiVersion; the type knows them.
        var entity = typeof(T).GetCustomAttributes(typeof(KubernetesEntityAttribute), false).OfType<KubernetesEntityAttribute>().FirstOrDefault();
        var reference = new V1ObjectReference
        {
            ApiVersion = involved.ApiVersion ?? (entity is null ? null : string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}"),
            Kind = involved.Kind ?? entity?.Kind,
            Name = involved.Metadata.Name,
            NamespaceProperty = involved.Metadata.NamespaceProperty,
            Uid = involved.Metadata.Uid,
            ResourceVersion = involved.Metadata.ResourceVersion,
        };
        _pending.Writer.TryWrite((reference, type, reason, message.Length <= 1024 ? message : message[..1021] + "..."));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (involved, type, reason, message) in _pending.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await WriteAsync(involved, type, reason, message, stoppingToken);
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
            {
                LogWriteFailed(logger, reason, involved.Kind, involved.Name, ex.Message);
            }
        }
    }

    private async Task WriteAsync(V1ObjectReference involved, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var ns = string.IsNullOrEmpty(involved.NamespaceProperty) ? "default" : involved.NamespaceProperty;
        var key = $"{involved.Uid}\n{type}\n{reason}\n{message}";
        if (_recent.TryGetValue(key, out var seen) && now - seen.Last < s_aggregationWindow)
        {
            var count = seen.Count + 1;
            try
            {
                var patch = new { count, lastTimestamp = now.UtcDateTime };
                await client.CoreV1.PatchNamespacedEventAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch),
                    seen.Name, ns, cancellationToken: cancellationToken);
                _recent[key] = (seen.Name, count, now);
                return;
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // expired or deleted: write a new one
            }
        }

        var name = $"{involved.Name}.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{key}\n{now.UtcTicks}")))[..16]}";
        await client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            InvolvedObject = involved,
            Type = type,
            Reason = reason,
            Message = message,
            Count = 1,
            FirstTimestamp = now.UtcDateTime,
            LastTimestamp = now.UtcDateTime,
            Source = new V1EventSource { Component = component, Host = _host },
            ReportingComponent = component,
            ReportingInstance = _host,
        }, ns, cancellationToken: cancellationToken);
        _recent[key] = (name, 1, now);
        if (_recent.Count > 10_000)
        {
            foreach (var stale in _recent.Where(e => now - e.Value.Last >= s_aggregationWindow).Select(e => e.Key).ToList())
            {
                _recent.TryRemove(stale, out _);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write event {Reason} for {Kind} {Name}: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string reason, string kind, string name, string error);
}
