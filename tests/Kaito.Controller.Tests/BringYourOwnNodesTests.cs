using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// LocalCluster simulating kubelets, and the controller with bring-your-own nodes (KAITO's disableNodeAutoProvisioning)
/// and its admission webhook registered: nodes are the test's, labelled as GPU Feature Discovery labels them.
/// </summary>
public sealed class ByoClusterFixture : IAsyncLifetime
{
    private OperatorProcesses _operator = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    public string Logs => _operator.Logs;

    public async Task InitializeAsync()
    {
        Cluster = await LocalClusterProcess.StartAsync();
        _operator = await OperatorProcesses.StartAsync(Cluster, controllerArguments:
            ["--Controller:NodeProvisioner=byo", "--webhook-port", "0", "--register-webhook", "true",
             "--webhook-cert-dir", Path.Combine(Path.GetTempPath(), $"no-certs-{Guid.NewGuid():N}")]);
        await Eventually.ValueAsync(async () =>
            (await Cluster.Kubectl.RunAsync("get", "validatingwebhookconfiguration", "validation.workspace.kaito.sh")).ExitCode == 0 ? "registered" : null,
            context: () => Logs);
    }

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>The whole bring-your-own path through kubectl: KAITO's admission checks, then pods that request the labelled GPUs.</summary>
public sealed class BringYourOwnNodesTests(ByoClusterFixture fixture) : IClassFixture<ByoClusterFixture>
{
    private readonly LocalClusterProcess _cluster = fixture.Cluster;

    [Fact]
    public async Task AdmissionRefusesASelectorThatPicksNoNodeOrNodesWithoutOrWithMixedGpuLabels()
    {
        var ns = await NamespaceAsync();
        var app = $"byo-{Guid.NewGuid():N}"[..12];

        var none = await ApplyAsync(ns, app);
        await CreateNodeAsync($"{app}-bare", app, gpus: 1, product: null);
        var unlabelled = await ApplyAsync(ns, app);
        await _cluster.Client.CoreV1.DeleteNodeAsync($"{app}-bare");
        await CreateNodeAsync($"{app}-a100", app, gpus: 1, product: "NVIDIA-A100-80GB-PCIe", memoryMiB: 81920);
        await CreateNodeAsync($"{app}-a10", app, gpus: 1, product: "NVIDIA-A10", memoryMiB: 24576);
        var mixed = await ApplyAsync(ns, app);

        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("resource.labelSelector: No nodes found matching the specified label selector", none.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, unlabelled.ExitCode);
        Assert.Contains($"node {app}-bare has no nvidia.com/gpu.product, nvidia.com/gpu.count, nvidia.com/gpu.memory labels", unlabelled.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, mixed.ExitCode);
        Assert.Contains("the selected nodes have different GPUs", mixed.Error, StringComparison.Ordinal);
        Assert.Contains("NVIDIA-A10 (24 GiB each)", mixed.Error, StringComparison.Ordinal);
        Assert.Equal("", (await _cluster.Kubectl.RunAsync("get", "wk", "-n", ns, "-o", "name")).EnsureSuccess().Output.Trim());
    }

    [Fact]
    public async Task TooLittleGpuMemoryIsRefusedUnlessBypassed()
    {
        var ns = await NamespaceAsync();
        var app = $"byo-{Guid.NewGuid():N}"[..12];
        await CreateNodeAsync($"{app}-t4", app, gpus: 1, product: "Tesla-T4", memoryMiB: 2048);

        var refused = await ApplyAsync(ns, app);
        var bypassed = await ApplyAsync(ns, app, annotations: "kaito.sh/bypass-resource-checks: \"True\"");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Insufficient total GPU memory: the 1 selected node(s) have a total of 2Gi", refused.Error, StringComparison.Ordinal);
        bypassed.EnsureSuccess();
    }

    [Fact]
    public async Task ThePodsRequestTheGpusTheNodesLabelsDescribeAndTheWorkspaceServesOnThem()
    {
        var ns = await NamespaceAsync();
        var app = $"byo-{Guid.NewGuid():N}"[..12];
        await CreateNodeAsync($"{app}-n1", app, gpus: 2, product: "NVIDIA-A100-80GB-PCIe", memoryMiB: 81920);
        await CreateNodeAsync($"{app}-other", "someone-else", gpus: 2, product: "NVIDIA-A100-80GB-PCIe", memoryMiB: 81920);

        (await ApplyAsync(ns, app)).EnsureSuccess();
        var state = await Eventually.ValueAsync(async () =>
            await JsonPathAsync(ns, "{.status.state}") is "Ready" and var s ? s : null, timeout: TimeSpan.FromSeconds(90), context: () => fixture.Logs);

        var set = await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync("workspace-phi-4-mini-byo", ns);
        var pod = Assert.Single((await _cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "kaito.sh/workspace=workspace-phi-4-mini-byo")).Items);
        Assert.Equal("Ready", state);
        Assert.Equal("2", set.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal($"{app}-n1", pod.Spec.NodeName);
        Assert.Equal($"{app}-n1", await JsonPathAsync(ns, "{.status.workerNodes[0]}"));
        Assert.Equal("1", await JsonPathAsync(ns, "{.status.targetNodeCount}"));
        Assert.Empty((await _cluster.Kubectl.RunAsync("get", "nodeclaims", "-A", "-o", "name")).EnsureSuccess().Output.Trim());
    }

    private async Task<string> NamespaceAsync()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        return ns;
    }

    /// <summary>The BYO example, its selector pointed at <paramref name="app"/>.</summary>
    private async Task<KubectlResult> ApplyAsync(string ns, string app, string? annotations = null)
    {
        var yaml = File.ReadAllText(Repository.PathOf("examples", "bring-your-own-nodes", "kaito_workspace_phi_4_mini_byo.yaml"))
            .Replace("apps: phi-4-mini-byo", $"apps: {app}", StringComparison.Ordinal);
        if (annotations is not null)
        {
            yaml = yaml.Replace("metadata:\n", $"metadata:\n  annotations:\n    {annotations}\n", StringComparison.Ordinal);
        }

        return await _cluster.Kubectl.RunAsync(["apply", "-n", ns, "-f", "-"], yaml, TimeSpan.FromSeconds(60));
    }

    private async Task CreateNodeAsync(string name, string app, int gpus, string? product, long memoryMiB = 0)
    {
        var labels = new Dictionary<string, string> { ["apps"] = app };
        if (product is not null)
        {
            labels["nvidia.com/gpu.product"] = product;
            labels["nvidia.com/gpu.count"] = gpus.ToString(System.Globalization.CultureInfo.InvariantCulture);
            labels["nvidia.com/gpu.memory"] = memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await _cluster.Client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels },
            Status = new V1NodeStatus
            {
                Capacity = new Dictionary<string, ResourceQuantity>
                {
                    ["nvidia.com/gpu"] = new(gpus.ToString(System.Globalization.CultureInfo.InvariantCulture)), ["cpu"] = new("24"), ["memory"] = new("220Gi"), ["pods"] = new("110"),
                },
            },
        });
    }

    private async Task<string> JsonPathAsync(string ns, string path) =>
        (await _cluster.Kubectl.RunAsync("get", "wk", "workspace-phi-4-mini-byo", "-n", ns, "-o", $"jsonpath={path}")).EnsureSuccess().Output;
}
