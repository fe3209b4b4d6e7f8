using System.Text.Json;
using k8s;
using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Testing;

namespace Kaito.Provisioner.Tests;

/// <summary>LocalCluster, the controller and the provisioner (local provider), each its own process.</summary>
public sealed class LocalProviderTests : IAsyncLifetime
{
    private LocalClusterProcess _cluster = null!;
    private OperatorProcesses _operator = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartAsync();
        _operator = await OperatorProcesses.StartAsync(_cluster);
    }

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task AWorkspaceGetsItsGpuNodeAndServesWithNoTestActingAsProvisioner()
    {
        (await _cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();

        await Eventually.ValueAsync(async () =>
            (await _cluster.Kubectl.RunAsync("get", "wk", "workspace-phi-4-mini", "-o", "jsonpath={.status.conditions[?(@.type==\"ResourceReady\")].status}")).Output == "True" ? "ready" : null,
            context: Logs);
        var claim = (await Claims()).Single();
        var node = await _cluster.Client.CoreV1.ReadNodeAsync(claim.Status!.NodeName);

        Assert.Equal(["Launched", "Registered", "Initialized", "Ready"], claim.Status.Conditions!.Where(c => c.Status == "True").Select(c => c.Type));
        Assert.Equal($"kaito-local:///{claim.Metadata.Name}", claim.Status.ProviderId);
        Assert.Equal("Standard_NC24ads_A100_v4", claim.Metadata.Labels["node.kubernetes.io/instance-type"]);
        Assert.Equal("1", claim.Status.Capacity!["nvidia.com/gpu"].ToString());
        Assert.Contains("karpenter.sh/termination", claim.Metadata.Finalizers!);
        Assert.Equal("Standard_NC24ads_A100_v4", node.Metadata.Labels["node.kubernetes.io/instance-type"]);
        Assert.Equal("workspace-phi-4-mini", node.Metadata.Labels["kaito.sh/workspace"]);
        Assert.Equal("phi-4-mini", node.Metadata.Labels["apps"]);
        Assert.Equal([("sku", "gpu", "NoSchedule")], node.Spec.Taints.Select(t => (t.Key, t.Value, t.Effect)));

        // With the node in place the controller deploys the inference server, and LocalCluster runs its pod.
        await Eventually.ValueAsync(async () =>
            (await _cluster.Kubectl.RunAsync("get", "wk", "workspace-phi-4-mini", "-o", "jsonpath={.status.state}")).Output == "Ready" ? "ready" : null,
            context: Logs);
        var row = (await _cluster.Kubectl.RunAsync("get", "wk", "--no-headers")).EnsureSuccess().Output;
        var pod = await _cluster.Client.CoreV1.ReadNamespacedPodAsync("workspace-phi-4-mini-0", "default");
        Assert.Matches(@"^workspace-phi-4-mini\s+Standard_NC24ads_A100_v4\s+True\s+True\s+True\s+True\s+1\s+Ready\s", row);
        Assert.Equal(node.Metadata.Name, pod.Spec.NodeName);

        (await _cluster.Kubectl.RunAsync("delete", "wk", "workspace-phi-4-mini", "--timeout=60s")).EnsureSuccess();
        await Eventually.ValueAsync(async () => (await Claims()).Count == 0 ? "gone" : null, context: Logs);
        var nodes = await _cluster.Client.CoreV1.ListNodeAsync();
        Assert.DoesNotContain(nodes.Items, n => n.Metadata.Name == node.Metadata.Name);
        // Everything the workspace owned goes with it (ownerReference garbage collection).
        await Eventually.ValueAsync(async () =>
            (await _cluster.Client.AppsV1.ListNamespacedStatefulSetAsync("default")).Items.Count == 0
            && (await _cluster.Client.CoreV1.ListNamespacedServiceAsync("default", labelSelector: "kaito.sh/workspace=workspace-phi-4-mini")).Items.Count == 0
            && (await _cluster.Client.AppsV1.ListNamespacedControllerRevisionAsync("default")).Items.Count == 0
            && (await _cluster.Client.CoreV1.ListNamespacedPodAsync("default")).Items.Count == 0 ? "gone" : null, context: Logs);
    }

    [Theory]
    [InlineData(null, "InstanceTypeMissing", "has no node.kubernetes.io/instance-type requirement")]
    [InlineData("Standard_Z99_Imaginary", "InstanceTypeUnavailable", "all requested instance types were unavailable during launch: Standard_Z99_Imaginary")]
    public async Task AClaimThatCannotLaunchSaysWhyOnLaunchedFalse(string? instanceType, string reason, string message)
    {
        var requirements = instanceType is null ? "[]" : $$"""[{"key":"node.kubernetes.io/instance-type","operator":"In","values":["{{instanceType}}"]}]""";
        var manifest = $$"""{"apiVersion":"karpenter.sh/v1","kind":"NodeClaim","metadata":{"name":"wsbad"},"spec":{"nodeClassRef":{"group":"kaito.sh","kind":"KaitoNodeClass","name":"default"},"requirements":{{requirements}} } }""";
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], manifest, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var launched = await Eventually.ValueAsync(async () =>
            (await Claims()).SingleOrDefault(c => c.Metadata.Name == "wsbad")?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Launched"), context: Logs);

        Assert.Equal("False", launched.Status);
        Assert.Equal(reason, launched.Reason);
        Assert.Contains(message, launched.Message, StringComparison.Ordinal);
        Assert.False(_operator.Provisioner.HasExited);
    }

    [Fact]
    public async Task ClaimsOfAnotherNodeClassAreLeftAlone()
    {
        var manifest = """{"apiVersion":"karpenter.sh/v1","kind":"NodeClaim","metadata":{"name":"wsaks"},"spec":{"nodeClassRef":{"group":"karpenter.azure.com","kind":"AKSNodeClass","name":"default"},"requirements":[]}}""";
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], manifest, TimeSpan.FromSeconds(60))).EnsureSuccess();
        // A claim of ours applied after it: once the provisioner has taken that one, it has seen the other.
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], manifest.Replace("wsaks", "wsours", StringComparison.Ordinal)
            .Replace("\"group\":\"karpenter.azure.com\",\"kind\":\"AKSNodeClass\"", "\"group\":\"kaito.sh\",\"kind\":\"KaitoNodeClass\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60))).EnsureSuccess();
        await Eventually.ValueAsync(async () => (await Claims()).Single(c => c.Metadata.Name == "wsours").Metadata.Finalizers, context: Logs);

        var claim = (await Claims()).Single(c => c.Metadata.Name == "wsaks");

        Assert.Null(claim.Metadata.Finalizers);
        Assert.Null(claim.Status);
    }

    private async Task<List<NodeClaim>> Claims()
    {
        var list = (JsonElement)await _cluster.Client.CustomObjects.ListClusterCustomObjectAsync("karpenter.sh", "v1", "nodeclaims");
        return list.GetProperty("items").EnumerateArray().Select(i => KubernetesJson.Deserialize<NodeClaim>(i.GetRawText())).ToList();
    }

    private string Logs() => _operator.Logs;
}
