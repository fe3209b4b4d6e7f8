using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// LocalCluster and the controller, each its own process; the controller installs the CRDs and registers its admission
/// webhook, so every write to a workspace passes through it as in a cluster.
/// </summary>
public sealed class ControllerFixture : IAsyncLifetime
{
    private ServiceProcess _controller = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    public string ControllerLog => _controller.Log;

    public bool ControllerRunning => !_controller.HasExited;

    public async Task InitializeAsync()
    {
        // Jobs and pods are not part of these tests; the controller only needs the API.
        Cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:Enabled=false");
        _controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
            ["--kubeconfig", Cluster.Kubeconfig, "--install-crds", "true", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0",
             "--webhook-port", "0", "--register-webhook", "true", "--webhook-cert-dir", Path.Combine(Path.GetTempPath(), $"no-certs-{Guid.NewGuid():N}")]);
        for (var waited = 0; (await Cluster.Kubectl.RunAsync("get", "crd", "workspaces.kaito.sh")).ExitCode != 0
                             || (await Cluster.Kubectl.RunAsync("get", "validatingwebhookconfiguration", "validation.workspace.kaito.sh")).ExitCode != 0; waited++)
        {
            if (waited > 300 || _controller.HasExited)
            {
                throw new InvalidOperationException($"The controller did not install the CRDs and register its webhook: {_controller.Log}");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await _controller.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
