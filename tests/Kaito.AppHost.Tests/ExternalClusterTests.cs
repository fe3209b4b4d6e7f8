using Kaito.Testing;

namespace Kaito.AppHost.Tests;

/// <summary>
/// The AppHost pointed at a cluster it did not start (`--kubeconfig`), as at kind or AKS: here a LocalCluster started
/// on its own and treated as any real cluster. The provisioner then uses the existing provider — it adopts the GPU node
/// that is already there and writes no Node of its own.
/// </summary>
public sealed class ExternalClusterTests
{
    [Fact]
    public async Task AgainstAClusterItDidNotStartTheAppHostAdoptsAnExistingGpuNodeAndWritesNoNode()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        (await cluster.Kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: v1
            kind: Node
            metadata:
              name: kind-gpu-worker
              labels: {node.kubernetes.io/instance-type: Standard_NC24ads_A100_v4, kubernetes.io/os: linux}
            status:
              capacity: {cpu: "24", memory: 220Gi, pods: "110", nvidia.com/gpu: "1"}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--kubeconfig", cluster.Kubeconfig]);
        await using var app = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await app.StartAsync(timeout.Token);
        foreach (var service in new[] { "controller", "provisioner" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
        }

        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        var nodeName = await Eventually.ValueAsync(async () =>
            (await cluster.Kubectl.RunAsync("get", "nodeclaims", "-o", "jsonpath={.items[0].status.nodeName}")).Output is { Length: > 0 } name ? name : null,
            TimeSpan.FromMinutes(3), () => cluster.Kubectl.RunAsync("get", "nodeclaims", "-o", "yaml").GetAwaiter().GetResult().Output);
        var nodes = (await cluster.Kubectl.RunAsync("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}")).EnsureSuccess().Output;
        var providerId = (await cluster.Kubectl.RunAsync("get", "nodeclaims", "-o", "jsonpath={.items[0].status.providerID}")).EnsureSuccess().Output;

        Assert.Equal("kind-gpu-worker", nodeName);
        Assert.Equal("kind-gpu-worker", nodes);
        Assert.Equal("kaito-existing:///kind-gpu-worker", providerId);
        await app.StopAsync();
    }
}
