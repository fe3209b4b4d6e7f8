using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Runtime;

/// <summary>
/// Runs a reconciler with N workers over a work queue: one span per reconcile (with the object as attributes),
/// duration and error metrics, a queue depth gauge, requeue after the reconciler's delay, backoff on failure.
/// </summary>
public sealed partial class ControllerRunner(
    string name,
    IReconciler reconciler,
    WorkQueue<ObjectReference> queue,
    int workers,
    ActivitySource activitySource,
    Meter meter,
    ILogger logger)
{
    private readonly Histogram<double> _duration = meter.CreateHistogram<double>(
        "kaito.reconcile.duration", "s", "How long one reconcile took.");
    private readonly Counter<long> _errors = meter.CreateCounter<long>("kaito.reconcile.errors", description: "Reconciles that failed and were retried.");

    public string Name { get; } = name;

    public WorkQueue<ObjectReference> Queue { get; } = queue;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        meter.CreateObservableGauge("kaito.workqueue.depth", () => new Measurement<int>(Queue.Depth, new KeyValuePair<string, object?>("controller", Name)),
            description: "Keys waiting for a worker.");
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => WorkAsync(cancellationToken)));
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ObjectReference key;
            try
            {
                key = await Queue.GetAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var clock = Stopwatch.StartNew();
            using var activity = activitySource.StartActivity($"{Name} reconcile");
            activity?.SetTag("k8s.namespace.name", key.Namespace);
            activity?.SetTag("kaito.object.name", key.Name);
            try
            {
                var result = await reconciler.ReconcileAsync(key, cancellationToken);
                Queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    Queue.AddAfter(key, delay);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var backoff = Queue.NextBackoff(key);
                Queue.AddAfter(key, backoff);
                _errors.Add(1, new KeyValuePair<string, object?>("controller", Name));
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                LogFailed(logger, Name, key, backoff.TotalSeconds, ex);
            }
            finally
            {
                _duration.Record(clock.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("controller", Name));
                Queue.Done(key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Controller} failed to reconcile {Key}; retrying in {DelaySeconds:0.###} s")]
    private static partial void LogFailed(ILogger logger, string controller, ObjectReference key, double delaySeconds, Exception exception);
}
