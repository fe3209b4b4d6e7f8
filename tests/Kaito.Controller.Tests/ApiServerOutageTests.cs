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
    private OperatorProcesses _operator = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartDurableAsync();
        _operator = await OperatorProcesses.StartAsync(_cluster, leaseIdentity: "drill");
    }

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task SixtySecondsWithoutTheApiServerCostLittleCpuAndFewLogLinesAndEverythingResumes()
    {
        await ApplyAsync("before-outage");
        await WaitReadyAsync("before-outage");

        _cluster.Kill();
        var (controllerCpu, provisionerCpu) = (_operator.Controller.CpuTime, _operator.Provisioner.CpuTime);
        var (controllerLines, provisionerLines) = (Lines(_operator.Controller), Lines(_operator.Provisioner));
        await Task.Delay(s_outage); // the drill: the outage itself, not a wait for a condition
        var controllerUsed = _operator.Controller.CpuTime - controllerCpu;
        var provisionerUsed = _operator.Provisioner.CpuTime - provisionerCpu;
        var controllerLogged = Lines(_operator.Controller) - controllerLines;
        var provisionerLogged = Lines(_operator.Provisioner) - provisionerLines;
        output.WriteLine(_operator.Controller.Log[_operator.Controller.Log.Split('\n').Take(controllerLines).Sum(l => l.Length + 1)..]);
        output.WriteLine($"during a {s_outage.TotalSeconds:0} s outage: controller {controllerUsed.TotalSeconds:0.00} s CPU, {controllerLogged} log lines; " +
                         $"provisioner {provisionerUsed.TotalSeconds:0.00} s CPU, {provisionerLogged} log lines");

        await _cluster.RestartAsync();
        await ApplyAsync("after-outage");
        await WaitReadyAsync("after-outage");

        Assert.False(_operator.Controller.HasExited, Logs());
        Assert.False(_operator.Provisioner.HasExited, Logs());
        // Spinning costs a whole core (60 s of CPU here) and ~135,000 lines; idle retrying costs a small fraction of both.
        Assert.True(controllerUsed < s_outage * 0.1, $"the controller used {controllerUsed.TotalSeconds:0.0} s of CPU during the outage\n{Logs()}");
        Assert.True(provisionerUsed < s_outage * 0.1, $"the provisioner used {provisionerUsed.TotalSeconds:0.0} s of CPU during the outage\n{Logs()}");
        Assert.True(controllerLogged < 100, $"the controller wrote {controllerLogged} log lines during the outage\n{Logs()}");
        Assert.True(provisionerLogged < 100, $"the provisioner wrote {provisionerLogged} log lines during the outage\n{Logs()}");
    }

    private static int Lines(ServiceProcess process) => process.Log.AsSpan().Count('\n');

    private string Logs() => _operator.Logs;

    private async Task ApplyAsync(string name) =>
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], ResilienceTests.Manifest(name), TimeSpan.FromSeconds(60))).EnsureSuccess();

    private async Task WaitReadyAsync(string name) =>
        await Eventually.ValueAsync(async () =>
        {
            var workspace = (JsonElement)await _cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync("kaito.sh", "v1beta1", "default", "workspaces", name);
            return workspace.TryGetProperty("status", out var status) && status.TryGetProperty("state", out var state) && state.GetString() == "Ready" ? "ready" : null;
        }, TimeSpan.FromMinutes(3), Logs);
}
