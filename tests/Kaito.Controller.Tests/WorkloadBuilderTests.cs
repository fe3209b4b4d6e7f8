using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Serialization;
using Kaito.Api.Workspaces;
using Kaito.Controller.Workspaces;
using Kaito.Controller.Workspaces.Nodes;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// The pure builders and classifiers of the workspace controller, without a cluster: what a StatefulSet, a tuning Job
/// and a NodeClaim hold for a workspace, and how a pod's state becomes InferenceReady's reason. The process tests check
/// the same objects end to end; these say precisely what broke, in milliseconds.
/// </summary>
public sealed class WorkloadBuilderTests
{
    private static readonly ControllerOptions s_options = new() { ImageRegistry = "registry.example/kaito", ImageTag = "1.2.3" };

    [Fact]
    public void TheStatefulSetServesThePresetOnTheSkusGpusWithKaitosProbesTolerationsAndAffinity()
    {
        var workspace = Example("inference", "kaito_workspace_phi_4_mini.yaml");
        var preset = Preset("phi-4-mini-instruct");
        var sku = GpuSkuCatalog.Default.Find("Standard_NC24ads_A100_v4", "azure");

        var set = InferenceWorkload.StatefulSet(workspace, preset, sku, 2, "3", s_options, autoProvisioning: true);
        var pod = set.Spec.Template.Spec;
        var server = pod.Containers.Single();

        Assert.Equal(2, set.Spec.Replicas);
        Assert.Equal("registry.example/kaito/kaito-inference-server:1.2.3", server.Image);
        Assert.Equal(["--model", WorkloadPaths.Weights, "--served-model-name", "phi-4-mini-instruct", "--port", "5000", "--cache-dir", "/var/lib/kaito/model-cache/exports"],
            server.Args);
        Assert.Equal("1", server.Resources.Limits[Resources.NvidiaGpu].ToString());
        Assert.Equal(("/health", "5000"), (server.ReadinessProbe.HttpGet.Path, server.ReadinessProbe.HttpGet.Port.Value));
        Assert.Contains(pod.Tolerations, t => t.Key == Taints.SkuKey && t.Value == Taints.SkuValue);
        var affinity = pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single().MatchExpressions;
        Assert.Contains(affinity, e => e.Key == Labels.Workspace && e.Values.Single() == workspace.Metadata.Name);
        Assert.Equal("3", set.Metadata.Annotations[Annotations.Revision]);
        Assert.True(set.Metadata.OwnerReferences.Single().Controller);
        PodSecurityAssert.Hardened(pod);
    }

    [Fact]
    public void WeightsComeFromThePinnedModelImageTheHubWithTheAccessSecretOrAVolume()
    {
        var preset = Preset("llama-3.1-8b-instruct");
        Workspace Llama(Action<Workspace>? change = null)
        {
            var workspace = Example("inference", "kaito_workspace_phi_4_mini.yaml");
            workspace.Inference!.Preset!.Name = preset.Name;
            workspace.Inference.Preset.PresetOptions = new PresetOptions { ModelAccessSecret = "hf-token", ImagePullSecrets = ["mcr-pull"] };
            change?.Invoke(workspace);
            return workspace;
        }

        V1PodSpec Pod(Workspace workspace, ControllerOptions options) => InferenceWorkload.StatefulSet(workspace, preset, null, 1, "1", options, autoProvisioning: true).Spec.Template.Spec;

        // The model image by default, its tag pinned in the catalog, with the image's pull secrets.
        var image = Pod(Llama(), s_options);
        var downloader = Assert.Single(image.InitContainers);
        Assert.Equal("registry.example/kaito/kaito-model-puller:1.2.3", downloader.Image);
        Assert.Equal(["--image", $"mcr.microsoft.com/aks/kaito/kaito-llama-3.1-8b-instruct:{preset.ImageTag}", "--target", WorkloadPaths.Weights,
            "--cache", "/var/lib/kaito/model-cache", "--docker-config", ImagePuller.SecretsPath], downloader.Args);
        Assert.Equal(["mcr-pull"], image.ImagePullSecrets.Select(s => s.Name));
        Assert.NotEqual("latest", preset.ImageTag);

        // The Hub, at the catalog's revision (main when it names none), the token from the access secret.
        var hub = Pod(Llama(), new ControllerOptions { ImageRegistry = "registry.example/kaito", ImageTag = "1.2.3", ModelSource = "huggingface", ModelCachePath = "" });
        downloader = Assert.Single(hub.InitContainers);
        Assert.Equal(["--hf-model", preset.Id, "--revision", preset.Revision ?? "main", "--hf-endpoint", "https://huggingface.co", "--target", WorkloadPaths.Weights, "--cache", ""],
            downloader.Args);
        var token = Assert.Single(downloader.Env);
        Assert.Equal(("HF_TOKEN", "hf-token", "HF_TOKEN"), (token.Name, token.ValueFrom.SecretKeyRef.Name, token.ValueFrom.SecretKeyRef.Key));
        Assert.DoesNotContain(hub.Volumes, v => v.HostPath is not null);

        // A claim of weights (air-gapped), or KAITO's weights baked on the node: nothing downloaded.
        var claim = Pod(Llama(w => w.Metadata.Annotations = new Dictionary<string, string> { [Annotations.ModelWeightsClaim] = "llama-weights" }), s_options);
        Assert.Null(claim.InitContainers);
        Assert.Equal(("llama-weights", true), (claim.Volumes.Single(v => v.Name == ModelWeights.Volume).PersistentVolumeClaim.ClaimName,
            claim.Volumes.Single(v => v.Name == ModelWeights.Volume).PersistentVolumeClaim.ReadOnlyProperty == true));
        var local = Pod(Llama(w => w.Metadata.Annotations = new Dictionary<string, string> { [Annotations.UseLocalWeights] = "true" }), s_options);
        Assert.Null(local.InitContainers);
        Assert.Equal("/opt/kaito/models/llama-3.1-8b-instruct", local.Volumes.Single(v => v.Name == ModelWeights.Volume).HostPath.Path);
        Assert.Contains(local.Containers.Single().VolumeMounts, m => m.Name == ModelWeights.Volume && m.ReadOnlyProperty == true);
    }

    [Fact]
    public void AModelPullFailureIsAnImagePullErrorInThePullersOwnWords()
    {
        var pod = Pod(status => status.InitContainerStatuses =
        [
            new V1ContainerStatus
            {
                Name = ModelWeights.ContainerName,
                RestartCount = 1,
                State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff", Message = "back-off 10s restarting failed container" } },
                LastState = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error", Message = "model image r/kaito-x:1 not found: ...\n" } },
            },
        ]);

        Assert.Equal((ConditionReasons.ImagePullError, "model image r/kaito-x:1 not found: ..."), PodFailures.Classify(pod));
    }

    [Fact]
    public void AdaptersLandInTheirOwnFoldersAndAVolumeOfTheWrongTypeIsNeverMounted()
    {
        var workspace = Example("inference", "kaito_workspace_phi_3_with_adapters.yaml");
        var preset = Preset(workspace.Inference!.Preset!.Name!);

        var pod = InferenceWorkload.StatefulSet(workspace, preset, null, 1, "1", s_options, autoProvisioning: true).Spec.Template.Spec;
        var pullers = pod.InitContainers.Where(c => c.Name.StartsWith("puller-", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(pullers);
        Assert.All(pullers, p => Assert.Equal(p.Name["puller-".Length..], p.VolumeMounts[0].SubPath));
        workspace.Inference.Adapters![0].Source!.Image = null;
        workspace.Inference.Adapters[0].Source!.VolumeSource = new System.Text.Json.Nodes.JsonObject { ["hostPath"] = new System.Text.Json.Nodes.JsonObject { ["path"] = "/" } };
        var refused = Assert.Throws<InvalidOperationException>(() => InferenceWorkload.StatefulSet(workspace, preset, null, 1, "1", s_options, autoProvisioning: true));
        Assert.Contains("volume type hostPath is not allowed", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBriefsTuningJobDownloadsWithTheTunerAndIsBoundedAndHardened()
    {
        var workspace = Example("fine-tuning", "kaito_workspace_tuning_phi_3.yaml");

        var job = TuningWorkload.Job(workspace, Preset("phi-3-mini-128k-instruct"), GpuSkuCatalog.Default.Find("Standard_NC6s_v3", "azure"), "1",
            WorkloadPaths.DefaultResults, s_options, autoProvisioning: true);
        var pod = job.Spec.Template.Spec;
        var downloader = pod.InitContainers.Single(c => c.Name == "data-downloader");

        Assert.Equal("registry.example/kaito/kaito-tuner:1.2.3", downloader.Image);
        Assert.Equal(["download", "--data-urls", workspace.Tuning!.Input!.Urls![0], "--data", WorkloadPaths.TuningData], downloader.Args);
        Assert.Equal(7 * 24 * 3600, job.Spec.ActiveDeadlineSeconds);
        Assert.Equal([2, 3], job.Spec.PodFailurePolicy.Rules.Single().OnExitCodes.Values);
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Contains(pod.ImagePullSecrets, s => s.Name == workspace.Tuning.Output!.ImagePushSecret);
        PodSecurityAssert.Hardened(pod);
    }

    [Fact]
    public void ANodeClaimIsNamedLikeAnAgentPoolAndCarriesTheWorkspacesLabelsTaintAndDisk()
    {
        var workspace = Example("inference", "kaito_workspace_phi_4_mini.yaml");

        var claim = NodeClaims.For(workspace, Preset("phi-4-mini-instruct"), "azure", "nonce");

        Assert.Matches("^ws[0-9a-f]{9}$", claim.Metadata.Name);
        Assert.Equal([new Kaito.Operator.Runtime.ObjectReference("default", workspace.Metadata.Name)], NodeClaims.WorkspaceOf(claim.Metadata));
        Assert.Contains(claim.Spec!.Requirements!, r => r.Key == Labels.AzureSkuName && r.Values!.Single() == "Standard_NC24ads_A100_v4");
        Assert.Equal(Taints.SkuValue, claim.Spec.Taints!.Single().Value);
        Assert.EndsWith("Gi", claim.Spec.Resources!.Requests![Resources.Storage].ToString(), StringComparison.Ordinal);
        Assert.NotEqual(claim.Metadata.Name, NodeClaims.For(workspace, null, "azure", "other").Metadata.Name);
        Assert.Equal("ubuntu", claim.Metadata.Annotations[Annotations.NodeImageFamily]);
        Assert.Equal(("kaito.sh", "KaitoNodeClass", "default"), (claim.Spec.NodeClassRef!.Group, claim.Spec.NodeClassRef.Kind, claim.Spec.NodeClassRef.Name));

        workspace.Metadata.Annotations = new Dictionary<string, string> { [Annotations.NodeImageFamily] = "azurelinux" };
        var aws = NodeClaims.For(workspace, null, "aws", "nonce");
        Assert.Equal("azurelinux", aws.Metadata.Annotations[Annotations.NodeImageFamily]);
        Assert.Equal(("karpenter.k8s.aws", "EC2NodeClass", "default"), (aws.Spec!.NodeClassRef!.Group, aws.Spec.NodeClassRef.Kind, aws.Spec.NodeClassRef.Name));
        Assert.Contains(aws.Spec.Requirements!, r => r.Key == "karpenter.k8s.aws/instance-gpu-count" && r.Operator == "Gt" && r.Values!.Single() == "0");
        Assert.DoesNotContain(aws.Spec.Requirements!, r => r.Key == Labels.AzureSkuName);
    }

    public static TheoryData<string, V1Pod, string?> Pods => new()
    {
        { "evicted", Pod(status => { status.Reason = "Evicted"; status.Message = "The node was low on resource: memory."; }), ConditionReasons.PodEvicted },
        { "unschedulable", Pod(status => status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes" }]), ConditionReasons.Unschedulable },
        { "image", Pod(status => status.ContainerStatuses = [Waiting("ImagePullBackOff")]), ConditionReasons.ImagePullError },
        { "crash", Pod(status => status.ContainerStatuses = [Waiting("CrashLoopBackOff")]), ConditionReasons.ContainerCrashLoopBackOff },
        { "oom loop", Pod(status => status.ContainerStatuses = [Waiting("CrashLoopBackOff", lastTerminated: "OOMKilled")]), ConditionReasons.ContainerOOMKilled },
        { "config", Pod(status => status.InitContainerStatuses = [Waiting("CreateContainerConfigError")]), ConditionReasons.ContainerStartError },
        { "oom", Pod(status => status.ContainerStatuses = [new V1ContainerStatus { Name = "server", State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { Reason = "OOMKilled" } } }]), ConditionReasons.ContainerOOMKilled },
        { "starting", Pod(status => status.ContainerStatuses = [Waiting("ContainerCreating")]), null },
    };

    [Theory]
    [MemberData(nameof(Pods))]
    public void APodsStateBecomesKaitosInferenceReadyReason(string name, V1Pod pod, string? reason)
    {
        var failure = PodFailures.Of([pod]);

        Assert.True(reason == failure?.Reason, $"{name}: {failure?.Reason}");
        Assert.True(failure is null || failure.Value.Message.Length <= 256);
    }

    [Fact]
    public void TheSpecificationHashFollowsTheSpecOnly()
    {
        var workspace = Example("inference", "kaito_workspace_phi_4_mini.yaml");
        var hash = RevisionSync.SpecificationHash(workspace);

        workspace.Status = new WorkspaceStatus { State = "Ready" };
        workspace.Metadata.Labels = new Dictionary<string, string> { ["x"] = "y" };
        var unchanged = RevisionSync.SpecificationHash(workspace);
        workspace.Resource!.LabelSelector!.MatchLabels["apps"] = "other";

        Assert.Equal(hash, unchanged);
        Assert.NotEqual(hash, RevisionSync.SpecificationHash(workspace));
    }

    [Fact]
    public void TheInferenceServerIsReachableFromTheClusterAndBehindItsLoadBalancerOnly()
    {
        var workspace = Example("inference", "kaito_workspace_tiny.yaml");
        var policy = InferenceWorkload.NetworkPolicy(workspace);
        Assert.Equal(workspace.Metadata.Name, policy.Spec.PodSelector.MatchLabels[Kaito.Api.Names.Labels.Workspace]);
        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
        Assert.Equal(2, policy.Spec.Ingress.Count);
        // the server's port from every namespace's pods; any port between the workspace's own pods
        Assert.NotNull(policy.Spec.Ingress[0].FromProperty.Single().NamespaceSelector);
        Assert.Equal(InferenceWorkload.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), policy.Spec.Ingress[0].Ports.Single().Port.Value);
        Assert.Null(policy.Spec.Ingress[1].Ports);
        Assert.Equal(workspace.Metadata.Name, policy.Spec.Ingress[1].FromProperty.Single().PodSelector.MatchLabels[Kaito.Api.Names.Labels.Workspace]);
        Assert.Equal(workspace.Metadata.Uid, policy.Metadata.OwnerReferences.Single().Uid);

        workspace.Metadata.Annotations = new Dictionary<string, string> { [Kaito.Api.Names.Annotations.EnableLoadBalancer] = "True" };
        var behindLoadBalancer = InferenceWorkload.NetworkPolicy(workspace).Spec.Ingress;
        Assert.Equal(3, behindLoadBalancer.Count);
        Assert.Null(behindLoadBalancer[2].FromProperty); // from anywhere, to the server's port only
        Assert.Equal(InferenceWorkload.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), behindLoadBalancer[2].Ports.Single().Port.Value);
    }

    private static Workspace Example(string folder, string file)
    {
        var workspace = KaitoYaml.Deserialize<Workspace>(File.ReadAllText(Repository.PathOf("examples", folder, file)));
        workspace.Metadata.NamespaceProperty ??= "default";
        workspace.Metadata.Uid = "0c8a6e5e-0000-4000-8000-000000000001";
        workspace.ApiVersion ??= "kaito.sh/v1beta1";
        return workspace;
    }

    private static ModelPreset Preset(string name) => ModelCatalog.Default.TryResolve(name, out var preset) ? preset : throw new InvalidOperationException(name);

    [Fact]
    public void APodOnANodeUnderPressureSaysSoAndNodesReadyWarns()
    {
        static V1Node Node(string name, string pressure) => new()
        {
            Metadata = new V1ObjectMeta { Name = name },
            Status = new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }, new V1NodeCondition { Type = pressure, Status = "True" }] },
        };
        var starting = Pod(status => status.ContainerStatuses = [Waiting("ContainerCreating")]);
        starting.Spec = new V1PodSpec { NodeName = "gpu-1" };
        var crashing = Pod(status => status.ContainerStatuses = [Waiting("CrashLoopBackOff")]);
        crashing.Spec = new V1PodSpec { NodeName = "gpu-1" };

        Assert.Equal((ConditionReasons.NodeDiskPressure, "pod ws-0: node gpu-1 is under disk pressure"), PodFailures.Of([starting], _ => Node("gpu-1", "DiskPressure")));
        Assert.Equal(ConditionReasons.NodeMemoryPressure, PodFailures.Of([starting], _ => Node("gpu-1", "MemoryPressure"))?.Reason);
        Assert.Null(PodFailures.Of([starting], _ => null));
        // The pod's own failure comes first.
        Assert.Equal(ConditionReasons.ContainerCrashLoopBackOff, PodFailures.Of([crashing], _ => Node("gpu-1", "DiskPressure"))?.Reason);
        Assert.Equal("node gpu-1 has DiskPressure, node gpu-2 has MemoryPressure", NodeChecks.Pressure([Node("gpu-1", "DiskPressure"), Node("gpu-2", "MemoryPressure")]));
    }

    private static V1Pod Pod(Action<V1PodStatus> status)
    {
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = "ws-0" }, Status = new V1PodStatus() };
        status(pod.Status);
        return pod;
    }

    private static V1ContainerStatus Waiting(string reason, string? lastTerminated = null) => new()
    {
        Name = "server",
        State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = $"{reason} happened" } },
        LastState = lastTerminated is null ? null : new V1ContainerState { Terminated = new V1ContainerStateTerminated { Reason = lastTerminated } },
        RestartCount = 3,
    };
}
