using k8s;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary><c>--gpu-nodes</c>: Node manifests created at start, reported Ready with their GPUs; <c>--system-node</c>: the node for everything else.</summary>
public sealed class NodesFileTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"kaito-nodes-{Guid.NewGuid():N}.yaml");

    [Fact]
    public async Task NodesFromTheFileExistAtStartAndAreReady()
    {
        File.WriteAllText(_file, """
            apiVersion: v1
            kind: Node
            metadata:
              name: gpu-a
              labels: {node.kubernetes.io/instance-type: Standard_NC24ads_A100_v4}
            spec:
              taints: [{key: sku, value: gpu, effect: NoSchedule}]
            status:
              capacity: {cpu: "24", memory: 220Gi, nvidia.com/gpu: "1"}
            ---
            apiVersion: v1
            kind: Node
            metadata:
              name: gpu-b
            status:
              capacity: {cpu: "96", memory: 880Gi, nvidia.com/gpu: "4"}
            """);
        await using var cluster = await LocalClusterProcess.StartAsync("--gpu-nodes", _file);

        var nodes = await Eventually.ValueAsync(async () =>
            (await cluster.Client.CoreV1.ListNodeAsync()) is { Items.Count: 2 } list && list.Items.All(n => n.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true) ? list : null);

        Assert.Equal(["gpu-a", "gpu-b"], nodes.Items.Select(n => n.Metadata.Name));
        Assert.Equal("4", nodes.Items[1].Status.Allocatable["nvidia.com/gpu"].ToString());
        Assert.Equal("sku", nodes.Items[0].Spec.Taints[0].Key);
    }

    [Fact]
    public async Task TheSystemNodeHasTheMachinesCpusNoGpuNoTaintAndTakesPlainPodsButNotTheGpuOnes()
    {
        File.WriteAllText(_file, "apiVersion: v1\nkind: Node\nmetadata: {name: gpu-a}\nspec:\n  taints: [{key: sku, value: gpu, effect: NoSchedule}]\nstatus:\n  capacity: {nvidia.com/gpu: \"1\"}\n");
        await using var cluster = await LocalClusterProcess.StartAsync("--gpu-nodes", _file, "--system-node", "system-0", "--LocalCluster:Kubelet:Enabled=false");

        var system = await Eventually.ValueAsync(async () => (await cluster.Client.CoreV1.ListNodeAsync()).Items.SingleOrDefault(n => n.Metadata.Name == "system-0"
            && n.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true));
        Assert.Equal(Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture), system.Status.Capacity["cpu"].ToString());
        Assert.False(system.Status.Capacity.ContainsKey("nvidia.com/gpu"));
        Assert.Null(system.Spec?.Taints);
        Assert.Equal("system", system.Metadata.Labels["kubernetes.azure.com/mode"]);

        (await cluster.Kubectl.RunAsync("run", "plain", "--image=busybox", "--", "sleep", "60")).EnsureSuccess();
        (await cluster.Kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: v1
            kind: Pod
            metadata: {name: gpu}
            spec:
              tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]
              containers:
              - name: c
                image: busybox
                resources: {limits: {nvidia.com/gpu: "1"}}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        var placed = await Eventually.ValueAsync(async () => (await cluster.Client.CoreV1.ListNamespacedPodAsync("default")).Items is var pods
            && pods.All(p => !string.IsNullOrEmpty(p.Spec.NodeName)) && pods.Count == 2 ? pods.ToDictionary(p => p.Metadata.Name, p => p.Spec.NodeName) : null);
        Assert.Equal("system-0", placed["plain"]);
        Assert.Equal("gpu-a", placed["gpu"]);
    }

    [Fact]
    public async Task AFileWithAnotherKindIsRefusedAtStart()
    {
        File.WriteAllText(_file, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalClusterProcess.StartAsync("--gpu-nodes", _file));

        Assert.Contains("--gpu-nodes takes Node manifests; found kind Pod", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_file);
}
