using System.Text.Json;
using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// The controller under failure and at rest, on a simulated cluster with the local provisioner: killed at random
/// moments while 20 workspaces reconcile, two replicas behind a Lease, and a steady state that writes nothing.
/// </summary>
public sealed class ResilienceTests : IAsyncLifetime
{
    private readonly List<ServiceProcess> _controllers = [];
    private LocalClusterProcess _cluster = null!;
    private ServiceProcess _provisioner = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartAsync();
        (await _cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        _provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
            ["--kubeconfig", _cluster.Kubeconfig, "--provider", "local", "--Provisioner:BootDelay=00:00:01", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);
    }

    public async Task DisposeAsync()
    {
        foreach (var controller in _controllers)
        {
            await controller.DisposeAsync();
        }

        await _provisioner.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task AControllerKilledAtRandomMomentsLeavesEveryWorkspaceWithExactlyItsNodesAndReady()
    {
        var controller = StartController("chaos", leaderElection: false);
        var names = Enumerable.Range(0, 20).Select(i => $"ws-{i:00}").ToList();
        var yaml = string.Join("---\n", names.Select(Manifest));
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var random = new Random(20);
        for (var kill = 0; kill < 4; kill++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 2500)));
            controller.Kill();
            controller = StartController("chaos", leaderElection: false);
        }

        await Eventually.ValueAsync(async () => await StatesAsync() is var states && names.All(n => states.GetValueOrDefault(n) == "Ready") ? "ready" : null,
            TimeSpan.FromMinutes(3), () => $"states: {string.Join(", ", StatesAsync().Result)}\n{controller.Log}");
        var claims = await ClaimsByWorkspaceAsync();

        Assert.All(names, n => Assert.Equal(1, claims.GetValueOrDefault(n)));
        Assert.Equal(20, claims.Values.Sum());
    }

    [Fact]
    public async Task OnlyTheLeaderWritesAndTheOtherTakesOverWhenItDies()
    {
        var a = StartController("controller-a", leaderElection: true);
        var b = StartController("controller-b", leaderElection: true);
        var leader = await Eventually.ValueAsync(async () => await HolderAsync() is { Length: > 0 } h ? h : null, TimeSpan.FromSeconds(30));
        var (leading, following) = leader == "controller-a" ? (a, b) : (b, a);

        await ApplyAsync("first");
        await Eventually.ValueAsync(async () => (await ClaimsByWorkspaceAsync()).ContainsKey("first") ? "claimed" : null, TimeSpan.FromSeconds(30), () => leading.Log);
        await Eventually.ValueAsync(() => Task.FromResult(leading.Log.Contains("NodeClaim ws", StringComparison.Ordinal) ? "logged" : null),
            TimeSpan.FromSeconds(10), () => leading.Log);
        Assert.DoesNotContain("NodeClaim ws", following.Log, StringComparison.Ordinal);

        leading.Kill();
        var successor = await Eventually.ValueAsync(async () => await HolderAsync() is { Length: > 0 } h && h != leader ? h : null, TimeSpan.FromSeconds(120));
        await ApplyAsync("second");
        await Eventually.ValueAsync(async () => (await ClaimsByWorkspaceAsync()).ContainsKey("second") ? "claimed" : null, TimeSpan.FromSeconds(30), () => following.Log);

        // The console logger writes asynchronously: the line may trail the claim by a moment.
        await Eventually.ValueAsync(() => Task.FromResult(following.Log.Contains("NodeClaim ws", StringComparison.Ordinal) ? "logged" : null),
            TimeSpan.FromSeconds(10), () => following.Log);

        Assert.NotEqual(leader, successor);
    }

    [Fact]
    public async Task OnceEverythingIsReadyNothingIsWrittenForSixtySeconds()
    {
        StartController("steady", leaderElection: false);
        await ApplyAsync("steady-1");
        await ApplyAsync("steady-2");
        await Eventually.ValueAsync(async () => await StatesAsync() is var s && s.GetValueOrDefault("steady-1") == "Ready" && s.GetValueOrDefault("steady-2") == "Ready" ? "ready" : null,
            TimeSpan.FromSeconds(90));
        // LocalCluster's resource version is global and monotonic: any write by anyone moves it. First the last status
        // writes and aggregated events settle: two reads a second apart agree.
        var before = await Eventually.ValueAsync(async () =>
        {
            var first = (await _cluster.Client.CoreV1.ListNamespaceAsync()).Metadata.ResourceVersion;
            await Task.Delay(TimeSpan.FromSeconds(1));
            return (await _cluster.Client.CoreV1.ListNamespaceAsync()).Metadata.ResourceVersion == first ? first : null;
        }, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(60));
        var after = (await _cluster.Client.CoreV1.ListNamespaceAsync()).Metadata.ResourceVersion;

        Assert.Equal(before, after);
    }

    private ServiceProcess StartController(string identity, bool leaderElection)
    {
        var controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
        [
            "--kubeconfig", _cluster.Kubeconfig, "--urls", "http://127.0.0.1:0", $"--LeaderElection:Enabled={leaderElection}",
            $"--LeaderElection:Identity={identity}", "--Logging:LogLevel:Kaito=Debug",
        ]);
        _controllers.Add(controller);
        return controller;
    }

    private async Task ApplyAsync(string name) =>
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], Manifest(name), TimeSpan.FromSeconds(60))).EnsureSuccess();

    /// <summary>A phi-4-mini workspace on one A100 node, named <paramref name="name"/>, selecting nodes labelled apps=name.</summary>
    internal static string Manifest(string name) => $"""
        apiVersion: kaito.sh/v1beta1
        kind: Workspace
        metadata:
          name: {name}
        resource:
          instanceType: Standard_NC24ads_A100_v4
          labelSelector:
            matchLabels:
              apps: {name}
        inference:
          preset:
            name: phi-4-mini-instruct

        """;

    private async Task<string?> HolderAsync()
    {
        try
        {
            return (await _cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("kaito-controller", "kube-system")).Spec.HolderIdentity;
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            return null;
        }
    }

    private async Task<Dictionary<string, string>> StatesAsync()
    {
        var list = (JsonElement)await _cluster.Client.CustomObjects.ListNamespacedCustomObjectAsync("kaito.sh", "v1beta1", "default", "workspaces");
        return list.GetProperty("items").EnumerateArray().ToDictionary(
            w => w.GetProperty("metadata").GetProperty("name").GetString()!,
            w => w.TryGetProperty("status", out var s) && s.TryGetProperty("state", out var state) ? state.GetString() ?? "" : "");
    }

    private async Task<Dictionary<string, int>> ClaimsByWorkspaceAsync()
    {
        var list = (JsonElement)await _cluster.Client.CustomObjects.ListClusterCustomObjectAsync("karpenter.sh", "v1", "nodeclaims");
        return list.GetProperty("items").EnumerateArray()
            .Select(c => c.GetProperty("metadata").GetProperty("labels").GetProperty("kaito.sh/workspace").GetString()!)
            .GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
    }
}
