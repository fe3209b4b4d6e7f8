using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// LocalCluster simulating its kubelets, Jobs and StatefulSets, the controller, and the provisioner's local provider
/// making the GPU nodes: nothing in the test acts as a cluster component.
/// </summary>
public sealed class SimulatedClusterFixture : IAsyncLifetime
{
    private ServiceProcess _controller = null!;
    private ServiceProcess _provisioner = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    public string Logs => $"controller log:\n{_controller.Log}\nprovisioner log:\n{_provisioner.Log}";

    public async Task InitializeAsync()
    {
        Cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:JobDuration=00:00:03");
        _controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
            ["--kubeconfig", Cluster.Kubeconfig, "--install-crds", "true", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);
        _provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
            ["--kubeconfig", Cluster.Kubeconfig, "--provider", "local", "--Provisioner:BootDelay=00:00:01", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);
        await Eventually.ValueAsync(async () => (await Cluster.Kubectl.RunAsync("get", "crd", "workspaces.kaito.sh")).ExitCode == 0 ? "installed" : null,
            context: () => Logs);
    }

    public async Task DisposeAsync()
    {
        await _provisioner.DisposeAsync();
        await _controller.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
