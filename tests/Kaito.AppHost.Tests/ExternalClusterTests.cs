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
        await WithCrdsAndAGpuNodeAsync(cluster);

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

    [Fact]
    public async Task AgainstARealClusterTheControllerNamesTheImagesTheAppHostBuiltNeverLatest()
    {
        await using var registry = await RegistryProcess.StartAsync();
        var dockerConfig = Path.Combine(registry.Root, "docker");
        Directory.CreateDirectory(dockerConfig);
        File.Copy(registry.DockerConfig(), Path.Combine(dockerConfig, "config.json"));
        await using var cluster = await LocalClusterProcess.StartAsync();
        await WithCrdsAndAGpuNodeAsync(cluster);

        // Only the puller is built here (the inference server's and tuner's images take minutes and hundreds of MB).
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(
            ["--kubeconfig", cluster.Kubeconfig, "--image-registry", registry.Address, "--images", "kaito-model-puller", "--image-base", "local", "--docker-config", dockerConfig]);
        await using var app = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceAsync("component-images", KnownResourceStates.Finished, timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("controller", timeout.Token);

        var version = System.Text.RegularExpressions.Regex.Match(await File.ReadAllTextAsync(Repository.PathOf("Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;
        var (code, inspected) = await RegistryProcess.RunAsync("skopeo", ["inspect", "--tls-verify=false", "--creds", $"{registry.User}:{registry.Password}", $"docker://{registry.Address}/kaito-model-puller:{version}"]);
        Assert.True(code == 0, inspected);

        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        var images = await Eventually.ValueAsync(async () =>
            (await cluster.Kubectl.RunAsync("get", "statefulsets", "-o", "jsonpath={.items[0].spec.template.spec.initContainers[0].image} {.items[0].spec.template.spec.containers[0].image}")).Output is { Length: > 1 } found ? found.Trim() : null,
            TimeSpan.FromMinutes(3), () => cluster.Kubectl.RunAsync("get", "workspaces,nodeclaims", "-o", "yaml").GetAwaiter().GetResult().Output);
        Assert.Equal($"{registry.Address}/kaito-model-puller:{version} {registry.Address}/kaito-inference-server:{version}", images);
        await app.StopAsync();
    }

    /// <summary>Kaito's CRDs, applied as a user of a real cluster does, and a GPU node already there, as on kind.</summary>
    private static async Task WithCrdsAndAGpuNodeAsync(LocalClusterProcess cluster)
    {
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
    }
}
