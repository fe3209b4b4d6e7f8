using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Runs the simulated cluster controllers: after every change (and every resync interval for timers) each controller
/// makes one level-based pass.
/// </summary>
public sealed partial class ClusterSimulation(
    ClusterStore store,
    Kubelet.LocalKubelet kubelet,
    TimeProvider clock,
    IOptions<SimulationOptions> options,
    ILogger<ClusterSimulation> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0, 1);

    private readonly ISimulatedController[] _controllers =
    [
        new NodeController(),
        new Scheduler(),
        new PodLifecycle(kubelet.Simulated),
        new StatefulSetController(),
        new ReplicaSetController(),
        new JobController(),
        new ServiceController(),
    ];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        store.Changed += Signal;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                foreach (var controller in _controllers)
                {
                    try
                    {
                        controller.Reconcile(new SimulationContext(store, clock, settings));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogControllerFailed(logger, controller.GetType().Name, ex);
                    }
                }

                await _changed.WaitAsync(settings.ResyncInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
        finally
        {
            store.Changed -= Signal;
        }
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private void Signal(StoreEvent change)
    {
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The simulated {Controller} failed a pass")]
    private static partial void LogControllerFailed(ILogger logger, string controller, Exception exception);
}
