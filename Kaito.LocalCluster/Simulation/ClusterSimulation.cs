using Kaito.Api.Serialization;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Runs the simulated cluster controllers: after every change (and every resync interval for timers) each controller
/// makes one level-based pass. Nodes from <see cref="SimulationOptions.NodesFile"/> are created at start.
/// </summary>
public sealed partial class ClusterSimulation(
    ClusterStore store,
    TimeProvider clock,
    IOptions<SimulationOptions> options,
    ILogger<ClusterSimulation> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0, 1);

    private readonly ISimulatedController[] _controllers =
    [
        new NodeController(),
        new Scheduler(),
        new PodLifecycle(),
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

        CreateNodes(settings.NodesFile);
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

    private void CreateNodes(string? file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return;
        }

        foreach (var node in KaitoYaml.LoadAll(File.ReadAllText(file), file))
        {
            if ((string?)node["kind"] != "Node")
            {
                throw new InvalidOperationException($"{file}: --gpu-nodes takes Node manifests; found kind {(string?)node["kind"]}.");
            }

            node["apiVersion"] ??= "v1";
            try
            {
                store.Create(Kinds.Node, "", node);
                LogNodeCreated(logger, (string?)node["metadata"]?["name"]);
            }
            catch (ApiException ex) when (ex.Code == 409)
            {
                // kept from an earlier run
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The simulated {Controller} failed a pass")]
    private static partial void LogControllerFailed(ILogger logger, string controller, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} created from the nodes file")]
    private static partial void LogNodeCreated(ILogger logger, string? node);
}
