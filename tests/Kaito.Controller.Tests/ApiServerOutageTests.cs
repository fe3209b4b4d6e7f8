using k8s;
using System.Text.Json;
using Kaito.Testing;
using Xunit.Abstractions;

namespace Kaito.Controller.Tests;

/// <summary>
/// The fault drill: the API server dies for 60 s under a running controller and provisioner (both electing a leader,
/// as deployed). Before, the controller used a full core and wrote ~135,000 "Leader election failed" lines a minute;
/// every retry loop now backs off and logs a repeating failure once an interval, and everything resumes.
/// </summary>
public sealed class ApiServerOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan s_outage = TimeSpan.FromSeconds(60);
    private LocalClusterProcess _cluster = null!;
    private ServiceProcess _controller = null!;
    private ServiceProcess _provisioner = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartDurableAsync();
        _controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
            ["--kubeconfig", _cluster.Kubeconfig, "--install-crds", "true", "--urls", "http://127.0.0.1:0", "--LeaderElection:Identity=drill-controller"]);
        _provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
            ["--kubeconfig", _cluster.Kubeconfig, "--provider", "local", "--Provisioner:BootDelay=00:00:01", "--urls", "http://127.0.0.1:0",
             "--LeaderElection:Identity=drill-provisioner"]);
        await Eventually.ValueAsync(async () => (await _cluster.Kubectl.RunAsync("get", "crd", "workspaces.kaito.sh")).ExitCode == 0 ? "installed" : null,
            context: Logs);
    }

    public async Task DisposeAsync()
    {
        await _provisioner.DisposeAsync();
        await _controller.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task SixtySecondsWithoutTheApiServerCostLittleCpuAndFewLogLinesAndEverythingResumes()
    {
        await ApplyAsync("before-outage");
        await WaitReadyAsync("before-outage");

        _cluster.Kill();
        var (controllerCpu, provisionerCpu) = (_controller.CpuTime, _provisioner.CpuTime);
        var (controllerLines, provisionerLines) = (Lines(_controller), Lines(_provisioner));
        await Task.Delay(s_outage); // the drill: the outage itself, not a wait for a condition
        var controllerUsed = _controller.CpuTime - controllerCpu;
        var provisionerUsed = _provisioner.CpuTime - provisionerCpu;
        var controllerLogged = Lines(_controller) - controllerLines;
        var provisionerLogged = Lines(_provisioner) - provisionerLines;
        output.WriteLine(_controller.Log[_controller.Log.Split('\n').Take(controllerLines).Sum(l => l.Length + 1)..]);
        output.WriteLine($"during a {s_outage.TotalSeconds:0} s outage: controller {controllerUsed.TotalSeconds:0.00} s CPU, {controllerLogged} log lines; " +
                         $"provisioner {provisionerUsed.TotalSeconds:0.00} s CPU, {provisionerLogged} log lines");

        await _cluster.RestartAsync();
        await ApplyAsync("after-outage");
        await WaitReadyAsync("after-outage");

        Assert.False(_controller.HasExited, Logs());
        Assert.False(_provisioner.HasExited, Logs());
        // Spinning costs a whole core (60 s of CPU here) and ~135,000 lines; idle retrying costs a small fraction of both.
        Assert.True(controllerUsed < s_outage * 0.1, $"the controller used {controllerUsed.TotalSeconds:0.0} s of CPU during the outage\n{Logs()}");
        Assert.True(provisionerUsed < s_outage * 0.1, $"the provisioner used {provisionerUsed.TotalSeconds:0.0} s of CPU during the outage\n{Logs()}");
        Assert.True(controllerLogged < 100, $"the controller wrote {controllerLogged} log lines during the outage\n{Logs()}");
        Assert.True(provisionerLogged < 100, $"the provisioner wrote {provisionerLogged} log lines during the outage\n{Logs()}");
    }

    private static int Lines(ServiceProcess process) => process.Log.AsSpan().Count('\n');

    private string Logs() => $"controller log:\n{_controller.Log}\nprovisioner log:\n{_provisioner.Log}";

    private async Task ApplyAsync(string name) =>
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], ResilienceTests.Manifest(name), TimeSpan.FromSeconds(60))).EnsureSuccess();

    private async Task WaitReadyAsync(string name) =>
        await Eventually.ValueAsync(async () =>
        {
            var workspace = (JsonElement)await _cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync("kaito.sh", "v1beta1", "default", "workspaces", name);
            return workspace.TryGetProperty("status", out var status) && status.TryGetProperty("state", out var state) && state.GetString() == "Ready" ? "ready" : null;
        }, TimeSpan.FromMinutes(3), Logs);
}
