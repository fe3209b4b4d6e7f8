using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// LocalCluster simulating its kubelets, Jobs and StatefulSets, the controller, and the provisioner's local provider
/// making the GPU nodes: nothing in the test acts as a cluster component.
/// </summary>
public sealed class SimulatedClusterFixture : IAsyncLifetime
{
    private OperatorProcesses _operator = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    public string Logs => _operator.Logs;

    public async Task InitializeAsync()
    {
        Cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:JobDuration=00:00:03");
        _operator = await OperatorProcesses.StartAsync(Cluster);
    }

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
