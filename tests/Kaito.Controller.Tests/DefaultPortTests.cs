using System.Net;
using System.Net.Sockets;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>Run by hand without addresses, the controller, the provisioner and the inference server each take their own port.</summary>
public sealed class DefaultPortTests
{
    private static readonly int[] s_defaults = [8081, 8082, 5000];

    [Fact]
    public async Task ControllerProvisionerAndInferenceServerListenSideBySideOnTheirOwnDefaults()
    {
        // The AppHost's tests hold these ports while they run (its launch profiles use the same ones): wait for them.
        await Eventually.TrueAsync(() => s_defaults.All(Free), TimeSpan.FromMinutes(5));
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:Enabled=false");
        var root = Directory.CreateTempSubdirectory("kaito-default-ports-").FullName;
        await using var controller = ServiceProcess.Start("Kaito.Controller", root, ["--kubeconfig", cluster.Kubeconfig, "--install-crds", "true", "--LeaderElection:Enabled=false"]);
        await using var provisioner = ServiceProcess.Start("Kaito.Provisioner", root, ["--kubeconfig", cluster.Kubeconfig, "--provider", "local", "--LeaderElection:Enabled=false"]);
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", root, ["--tiny-model", Path.Combine(root, "tiny")]);
        using var http = new HttpClient();

        foreach (var (port, process) in new[] { (8081, controller), (8082, provisioner), (5000, server) })
        {
            await Eventually.ValueAsync(async () => (await http.GetAsync($"http://127.0.0.1:{port}/health")).IsSuccessStatusCode ? "up" : null,
                TimeSpan.FromSeconds(90), () => process.Log);
        }

        Assert.False(controller.HasExited || provisioner.HasExited || server.HasExited);
        Directory.Delete(root, recursive: true);
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
