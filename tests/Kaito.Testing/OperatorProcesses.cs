namespace Kaito.Testing;

/// <summary>
/// The controller and the provisioner (its local provider making the GPU nodes) as their own processes against a
/// LocalCluster, as a user runs them: the controller installs the CRDs, nothing in the test acts as a cluster component.
/// </summary>
public sealed class OperatorProcesses : IAsyncDisposable
{
    private OperatorProcesses(ServiceProcess controller, ServiceProcess provisioner) => (Controller, Provisioner) = (controller, provisioner);

    public ServiceProcess Controller { get; }

    public ServiceProcess Provisioner { get; }

    public string Logs => $"controller log:\n{Controller.Log}\nprovisioner log:\n{Provisioner.Log}";

    /// <summary>
    /// Starts both and waits for the CRDs. With <paramref name="leaseIdentity"/> each runs for its Lease as
    /// <c>{leaseIdentity}-controller</c> / <c>-provisioner</c>; without, leader election is off.
    /// </summary>
    public static async Task<OperatorProcesses> StartAsync(LocalClusterProcess cluster, string? leaseIdentity = null, IEnumerable<string>? controllerArguments = null)
    {
        string[] Election(string component) =>
            leaseIdentity is null ? ["--LeaderElection:Enabled=false"] : [$"--LeaderElection:Identity={leaseIdentity}-{component}"];

        var controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
            ["--kubeconfig", cluster.Kubeconfig, "--install-crds", "true", "--urls", "http://127.0.0.1:0", .. Election("controller"), .. controllerArguments ?? []]);
        var provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
            ["--kubeconfig", cluster.Kubeconfig, "--provider", "local", "--Provisioner:BootDelay=00:00:01", "--urls", "http://127.0.0.1:0", .. Election("provisioner")]);
        var processes = new OperatorProcesses(controller, provisioner);
        try
        {
            await Eventually.ValueAsync(async () =>
                (await cluster.Kubectl.RunAsync("get", "crd", "workspaces.kaito.sh", "nodeclaims.karpenter.sh")).ExitCode == 0 ? "installed" : null,
                context: () => processes.Logs);
            return processes;
        }
        catch
        {
            await processes.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Provisioner.DisposeAsync();
        await Controller.DisposeAsync();
    }
}
