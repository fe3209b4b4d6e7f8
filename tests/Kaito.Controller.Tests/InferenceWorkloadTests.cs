using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>A served preset on a simulated cluster: ready, then why it is not when its pod cannot run.</summary>
public sealed class InferenceWorkloadTests(SimulatedClusterFixture fixture) : IClassFixture<SimulatedClusterFixture>
{
    private const string Workspace = "workspace-phi-4-mini";
    private readonly LocalClusterProcess _cluster = fixture.Cluster;

    [Fact]
    public async Task APodThatFitsNowhereTurnsInferenceReadyFalseWithTheSchedulersReason()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        (await _cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        await Eventually.ValueAsync(async () => await JsonPathAsync(ns, "{.status.state}") == "Ready" ? "ready" : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);

        // Someone edits the StatefulSet to ask for more GPUs than the node has: the rolled pod fits nowhere.
        (await _cluster.Kubectl.RunAsync("patch", "statefulset", Workspace, "-n", ns, "--type", "json", "-p",
            """
            [{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu","value":"8"},
             {"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/nvidia.com~1gpu","value":"8"}]
            """)).EnsureSuccess();

        var reason = await Eventually.ValueAsync(async () =>
            await JsonPathAsync(ns, "{.status.conditions[?(@.type==\"InferenceReady\")].reason}") is "Unschedulable" and var r ? r : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
        var message = await JsonPathAsync(ns, "{.status.conditions[?(@.type==\"InferenceReady\")].message}");

        Assert.Equal("Unschedulable", reason);
        Assert.StartsWith($"pod {Workspace}-0: 0/", message, StringComparison.Ordinal);
        Assert.Contains("nvidia.com/gpu", message, StringComparison.Ordinal);
        Assert.True(message.Length <= 256);
        Assert.Equal("NotReady", await JsonPathAsync(ns, "{.status.state}"));
    }

    private async Task<string> JsonPathAsync(string ns, string path) =>
        (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o", $"jsonpath={path}")).EnsureSuccess().Output;
}
