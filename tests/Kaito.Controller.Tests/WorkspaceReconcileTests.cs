using System.Text.Json;
using k8s;
using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Controller.Workspaces;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>The controller against LocalCluster over HTTPS: NodeClaims, node readiness and deletion.</summary>
public sealed class WorkspaceReconcileTests(ControllerFixture fixture) : IClassFixture<ControllerFixture>
{
    private readonly LocalClusterProcess _cluster = fixture.Cluster;

    [Fact]
    public async Task ThePhi4MiniWorkspaceGetsExactlyOneNodeClaimAsKaitoSpecifies()
    {
        var ns = await ApplyAsync("examples/inference/kaito_workspace_phi_4_mini.yaml");

        var claim = Assert.Single(await UntilAsync(async () => await ClaimsAsync(ns, "workspace-phi-4-mini") is { Count: > 0 } c ? c : null));
        // A pass after the creation has counted the claim once its status says so: no second claim can follow.
        var workspace = await UntilAsync(async () => await WorkspaceAsync(ns, "workspace-phi-4-mini") is var w
            && w.RootElement.TryGetProperty("status", out var st) && st.TryGetProperty("conditions", out var cs)
            && cs.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "NodeClaimReady") ? w : null);

        Assert.Single(await ClaimsAsync(ns, "workspace-phi-4-mini"));
        Assert.Matches("^ws[0-9a-f]{9}$", claim.Metadata.Name);
        Assert.Equal(new Dictionary<string, string>
        {
            ["karpenter.sh/nodepool"] = "kaito",
            ["kaito.sh/workspace"] = "workspace-phi-4-mini",
            ["kaito.sh/workspacenamespace"] = ns,
            ["apps"] = "phi-4-mini",
        }, claim.Metadata.Labels);
        Assert.Equal("true", claim.Metadata.Annotations["karpenter.sh/do-not-disrupt"]);
        Assert.Equal(("kaito.sh", "KaitoNodeClass", "default"), (claim.Spec!.NodeClassRef!.Group, claim.Spec.NodeClassRef.Kind, claim.Spec.NodeClassRef.Name));
        Assert.Equal([("sku", "gpu", "NoSchedule")], claim.Spec.Taints!.Select(t => (t.Key, t.Value, t.Effect)));
        Assert.Equal(
            ["karpenter.sh/nodepool In kaito", "node.kubernetes.io/instance-type In Standard_NC24ads_A100_v4", "kubernetes.io/os In linux", "karpenter.azure.com/sku-name In Standard_NC24ads_A100_v4"],
            claim.Spec.Requirements!.Select(r => $"{r.Key} {r.Operator} {string.Join(",", r.Values!)}"));
        Assert.Equal("87Gi", claim.Spec.Resources!.Requests!["storage"].ToString());

        var root = workspace.RootElement;
        Assert.Contains("workspace.finalizer.kaito.sh", root.GetProperty("metadata").GetProperty("finalizers").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("1", root.GetProperty("metadata").GetProperty("annotations").GetProperty("workspace.kaito.io/revision").GetString());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("metadata").GetProperty("annotations").GetProperty("workspace.kaito.io/hash").GetString());
        Assert.Equal(1, root.GetProperty("status").GetProperty("targetNodeCount").GetInt32());
        Assert.Equal("Pending", root.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal("False", Condition(root, "ResourceReady"));
    }

    [Fact]
    public async Task TheBriefsTuningWorkspaceGetsOneNodeClaimSizedForTuning()
    {
        var ns = await ApplyAsync("examples/fine-tuning/kaito_workspace_tuning_phi_3.yaml");

        var claim = Assert.Single(await UntilAsync(async () => await ClaimsAsync(ns, "workspace-tuning-phi-3") is { Count: > 0 } c ? c : null));

        Assert.Equal("Standard_NC6s_v3", claim.Spec!.Requirements!.Single(r => r.Key == "node.kubernetes.io/instance-type").Values![0]);
        Assert.Equal("80Gi", claim.Spec.Resources!.Requests!["storage"].ToString());
    }

    [Fact]
    public async Task ResourceBecomesReadyWhenTheNodeClaimAndItsGpuNodeAreReady()
    {
        var ns = await ApplyAsync("examples/inference/kaito_workspace_phi_4_mini.yaml");
        var claim = Assert.Single(await UntilAsync(async () => await ClaimsAsync(ns, "workspace-phi-4-mini") is { Count: > 0 } c ? c : null));

        var node = await ProvideNodeAsync(claim);
        var workspace = await UntilAsync(async () =>
            await WorkspaceAsync(ns, "workspace-phi-4-mini") is var w && Condition(w.RootElement, "ResourceReady") == "True" ? w : null);
        var row = (await _cluster.Kubectl.RunAsync("get", "wk", "-n", ns, "--no-headers")).EnsureSuccess().Output;

        var status = workspace.RootElement.GetProperty("status");
        Assert.Equal([node], status.GetProperty("workerNodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("True", Condition(workspace.RootElement, "NodeClaimReady"));
        Assert.Equal("True", Condition(workspace.RootElement, "NodesReady"));
        Assert.Matches(@"^workspace-phi-4-mini\s+Standard_NC24ads_A100_v4\s+True\s+False\s+False\s+False\s+1\s+Pending", row);

        // With the nodes ready, the inference workload (KAITO's pkg/workspace/inference).
        var set = await UntilAsync(async () => await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync("workspace-phi-4-mini", ns));
        var service = await _cluster.Client.CoreV1.ReadNamespacedServiceAsync("workspace-phi-4-mini", ns);
        var headless = await _cluster.Client.CoreV1.ReadNamespacedServiceAsync("workspace-phi-4-mini-headless", ns);
        var container = set.Spec.Template.Spec.Containers.Single();
        Assert.Equal(1, set.Spec.Replicas);
        Assert.Equal("Parallel", set.Spec.PodManagementPolicy);
        Assert.Equal("workspace-phi-4-mini-headless", set.Spec.ServiceName);
        Assert.Equal("1", container.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("1", container.Resources.Requests["nvidia.com/gpu"].ToString());
        Assert.Equal(5000, container.Ports.Single().ContainerPort);
        Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
        Assert.Contains("phi-4-mini-instruct", container.Args);
        Assert.Contains(set.Spec.Template.Spec.Tolerations, t => t.Key == "sku" && t.Value == "gpu" && t.Effect == "NoSchedule");
        Assert.Equal(["apps In phi-4-mini", "kaito.sh/workspace In workspace-phi-4-mini", $"kaito.sh/workspacenamespace In {ns}"],
            set.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single().MatchExpressions
                .Select(e => $"{e.Key} {e.OperatorProperty} {string.Join(",", e.Values)}"));
        Assert.Equal((80, "5000"), (service.Spec.Ports.Single().Port, service.Spec.Ports.Single().TargetPort.Value));
        Assert.Equal("workspace-phi-4-mini-0", service.Spec.Selector["statefulset.kubernetes.io/pod-name"]);
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.True(set.Metadata.OwnerReferences.Single().Controller);
    }

    [Fact]
    public async Task AdaptersAndTheInferenceConfigReachTheStatefulSetAndTheNodeIsLabelledNvidia()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        await _cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "serving" },
            Data = new Dictionary<string, string> { ["inference_config.yaml"] = "vllm:\n  max-model-len: 4096\n" },
        }, ns);
        var yaml = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: with-adapters
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: adapters
            inference:
              preset:
                name: phi-4-mini-instruct
              config: serving
              adapters:
              - source:
                  name: phi-3-adapter
                  image: myregistry.azurecr.io/adapters/phi-3-adapter:0.0.1
                  imagePullSecrets: [adapter-pull]
              - source:
                  name: from-volume
                  volumeSource:
                    persistentVolumeClaim:
                      claimName: adapters-pvc
            """;
        (await _cluster.Kubectl.RunAsync(["apply", "-n", ns, "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();
        var claim = Assert.Single(await UntilAsync(async () => await ClaimsAsync(ns, "with-adapters") is { Count: > 0 } c ? c : null));

        var node = await ProvideNodeAsync(claim);
        var set = await UntilAsync(async () => (await _cluster.Client.AppsV1.ListNamespacedStatefulSetAsync(ns)).Items.FirstOrDefault());
        var labelled = await UntilAsync(async () => await _cluster.Client.CoreV1.ReadNodeAsync(node) is var n && n.Metadata.Labels.ContainsKey("accelerator") ? n : null);

        var pod = set.Spec.Template.Spec;
        var container = pod.Containers.Single();
        // The model weights first (the preset's model image, its tag pinned in the catalog), then the adapter.
        Assert.Equal(["model-weights-downloader", "puller-phi-3-adapter"], pod.InitContainers.Select(c => c.Name));
        var weights = pod.InitContainers[0];
        Assert.Equal(["--image", "mcr.microsoft.com/aks/kaito/kaito-phi-4-mini-instruct:0.2.0", "--target", "/workspace/weights"], weights.Args.Take(4));
        // tagged with the controller's own version (the images deploy/images builds), never latest
        Assert.EndsWith($"/kaito-model-puller:{ControllerOptions.ReleaseVersion}", weights.Image, StringComparison.Ordinal);
        Assert.Matches(@"^\d+\.\d+\.\d+", ControllerOptions.ReleaseVersion);
        Assert.Contains(weights.VolumeMounts, m => m.Name == "model-cache" && m.MountPath == "/var/lib/kaito/model-cache");
        Assert.Equal("/var/lib/kaito/model-cache", pod.Volumes.Single(v => v.Name == "model-cache").HostPath.Path);
        Assert.Contains(container.VolumeMounts, m => m.Name == "model-weights-volume" && m.MountPath == "/workspace/weights" && m.ReadOnlyProperty == true);
        var puller = pod.InitContainers[1];
        Assert.Equal("puller-phi-3-adapter", puller.Name);
        Assert.Equal(["--image", "myregistry.azurecr.io/adapters/phi-3-adapter:0.0.1", "--target", "/mnt/adapter/phi-3-adapter", "--layout", "image-data", "--cache", "",
            "--docker-config", ImagePuller.SecretsPath], puller.Args);
        Assert.EndsWith($"/kaito-model-puller:{ControllerOptions.ReleaseVersion}", puller.Image, StringComparison.Ordinal);
        Assert.Contains(puller.VolumeMounts, m => m.MountPath == $"{ImagePuller.SecretsPath}/adapter-pull" && m.ReadOnlyProperty == true);
        Assert.Equal("/mnt/adapter/phi-3-adapter", puller.VolumeMounts[0].MountPath);
        Assert.Equal("phi-3-adapter", puller.VolumeMounts[0].SubPath);
        Assert.Contains(container.VolumeMounts, m => m.Name == "adapter-volume" && m.MountPath == "/mnt/adapter" && m.SubPath is null);
        PodSecurityAssert.Hardened(pod);
        Assert.Equal(["adapter-pull"], pod.ImagePullSecrets.Select(s => s.Name));
        Assert.Equal("adapters-pvc", pod.Volumes.Single(v => v.Name == "adapter-from-volume").PersistentVolumeClaim.ClaimName);
        Assert.Contains(container.VolumeMounts, m => m.Name == "adapter-from-volume" && m.MountPath == "/mnt/adapter/from-volume");
        Assert.Equal("serving", pod.Volumes.Single(v => v.Name == "config-volume").ConfigMap.Name);
        Assert.Equal(["--cache-dir", "/var/lib/kaito/model-cache/exports", "--kaito-config-file", "/mnt/config/inference_config.yaml", "--adapters-dir", "/mnt/adapter"],
            container.Args.Skip(6));
        Assert.Equal("nvidia", labelled.Metadata.Labels["accelerator"]);
    }

    [Fact]
    public async Task DeletingAWorkspaceRemovesItsNodeClaimsBeforeTheFinalizerGoes()
    {
        var ns = await ApplyAsync("examples/inference/kaito_workspace_phi_4_mini.yaml");
        var claim = Assert.Single(await UntilAsync(async () => await ClaimsAsync(ns, "workspace-phi-4-mini") is { Count: > 0 } c ? c : null));
        // The provisioner holds its termination finalizer until the cloud capacity is gone.
        (await _cluster.Kubectl.RunAsync("patch", "nodeclaim", claim.Metadata.Name, "--type", "merge", "-p", """{"metadata":{"finalizers":["karpenter.sh/termination"]}}""")).EnsureSuccess();

        (await _cluster.Kubectl.RunAsync("delete", "wk", "workspace-phi-4-mini", "-n", ns, "--wait=false")).EnsureSuccess();
        var claimDeleting = await UntilAsync(async () => (await _cluster.Kubectl.RunAsync("get", "nodeclaim", claim.Metadata.Name, "-o", "jsonpath={.metadata.deletionTimestamp}"))
            .EnsureSuccess().Output is { Length: > 0 } t ? t : null);
        var whileTerminating = await WorkspaceAsync(ns, "workspace-phi-4-mini");
        (await _cluster.Kubectl.RunAsync("patch", "nodeclaim", claim.Metadata.Name, "--type", "json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""")).EnsureSuccess();
        await UntilAsync(async () => (await _cluster.Kubectl.RunAsync("get", "wk", "-n", ns, "-o", "name")).Output.Length == 0 ? "gone" : null);

        Assert.True(whileTerminating.RootElement.GetProperty("metadata").TryGetProperty("deletionTimestamp", out _));
        Assert.Equal("True", Condition(whileTerminating.RootElement, "WorkspaceDeleting"));
        Assert.NotEmpty(claimDeleting);
        Assert.Empty(await ClaimsAsync(ns, "workspace-phi-4-mini"));
    }

    private async Task<string> ApplyAsync(string example)
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        (await _cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf(example.Split('/')))).EnsureSuccess();
        return ns;
    }

    private async Task<string> ProvideNodeAsync(NodeClaim claim)
    {
        var node = $"aks-{claim.Metadata.Name}-vmss000000";
        await _cluster.Client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta
            {
                Name = node,
                Labels = new Dictionary<string, string>(claim.Metadata.Labels) { ["node.kubernetes.io/instance-type"] = "Standard_NC24ads_A100_v4" },
            },
            Status = new V1NodeStatus
            {
                Capacity = new Dictionary<string, ResourceQuantity> { ["nvidia.com/gpu"] = new("1"), ["cpu"] = new("24"), ["memory"] = new("220Gi") },
                Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }],
            },
        });
        var status = $$"""{"status":{"nodeName":"{{node}}","conditions":[{"type":"Ready","status":"True","reason":"Ready","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}] } }""";
        (await _cluster.Kubectl.RunAsync("patch", "nodeclaim", claim.Metadata.Name, "--subresource=status", "--type", "merge", "-p", status)).EnsureSuccess();
        return node;
    }

    private async Task<List<NodeClaim>> ClaimsAsync(string ns, string workspace)
    {
        var list = (JsonElement)await _cluster.Client.CustomObjects.ListClusterCustomObjectAsync("karpenter.sh", "v1", "nodeclaims",
            labelSelector: $"kaito.sh/workspace={workspace},kaito.sh/workspacenamespace={ns}");
        return list.GetProperty("items").EnumerateArray().Select(i => KubernetesJson.Deserialize<NodeClaim>(i.GetRawText())).ToList();
    }

    private async Task<JsonDocument> WorkspaceAsync(string ns, string name) =>
        JsonDocument.Parse(((JsonElement)await _cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync("kaito.sh", "v1beta1", ns, "workspaces", name)).GetRawText());

    private static string? Condition(JsonElement workspace, string type) =>
        workspace.TryGetProperty("status", out var status) && status.TryGetProperty("conditions", out var conditions)
            ? conditions.EnumerateArray().Where(c => c.GetProperty("type").GetString() == type).Select(c => c.GetProperty("status").GetString()).FirstOrDefault()
            : null;

    private Task<T> UntilAsync<T>(Func<Task<T?>> probe)
        where T : class => Eventually.ValueAsync(probe, context: () => $"controller log:\n{fixture.ControllerLog}");
}
