using k8s;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// The objects that serve a preset (KAITO's pkg/workspace/inference/preset_inferences.go): the Service <c>&lt;ws&gt;</c> (80 → 5000, the leader pod),
/// the headless Service <c>&lt;ws&gt;-headless</c>, and the StatefulSet <c>&lt;ws&gt;</c> running Kaito's inference server
/// with the GPUs of the SKU, KAITO's tolerations, node affinity to the workspace's nodes and probes on /health.
/// </summary>
public static class InferenceWorkload
{
    public const int Port = 5000;

    /// <summary>Where the inference server finds its API keys and TLS certificate when the workspace names their Secrets.</summary>
    public const string ApiKeysPath = "/mnt/api-keys";

    public const string TlsPath = "/mnt/tls";

    public static V1Service Service(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var name = workspace.Metadata.Name;
        var annotations = workspace.Metadata.Annotations ?? new Dictionary<string, string>();
        var loadBalancer = annotations.TryGetValue(Annotations.EnableLoadBalancer, out var lb) && lb == "True";
        var metadata = Metadata(workspace, name);
        if (loadBalancer && !(annotations.TryGetValue(Annotations.LoadBalancerScope, out var scope) && scope.Equals("public", StringComparison.OrdinalIgnoreCase)))
        {
            // Internal unless asked otherwise: the model is reachable from the virtual network, not from the internet.
            metadata.Annotations = new Dictionary<string, string>
            {
                ["service.beta.kubernetes.io/azure-load-balancer-internal"] = "true",
                ["service.beta.kubernetes.io/aws-load-balancer-scheme"] = "internal",
            };
        }

        return new V1Service
        {
            Metadata = metadata,
            Spec = new V1ServiceSpec
            {
                Type = loadBalancer ? "LoadBalancer" : "ClusterIP",
                Selector = new Dictionary<string, string> { [Labels.Workspace] = name, [Labels.StatefulSetPodName] = $"{name}-0" },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = Port, Protocol = "TCP" }],
                PublishNotReadyAddresses = true,
            },
        };
    }

    /// <summary>
    /// Who may reach the workspace's inference pods, for clusters whose network plugin enforces NetworkPolicies: the
    /// server's port from any pod in the cluster (and from anywhere when the workspace asks for a load balancer), and
    /// any port from the workspace's own pods (multi-node inference); nothing else from outside.
    /// </summary>
    public static V1NetworkPolicy NetworkPolicy(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var name = workspace.Metadata.Name;
        var annotations = workspace.Metadata.Annotations ?? new Dictionary<string, string>();
        var loadBalancer = annotations.TryGetValue(Annotations.EnableLoadBalancer, out var lb) && lb == "True";
        var own = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [Labels.Workspace] = name } };
        var server = new List<V1NetworkPolicyPort> { new() { Port = Port, Protocol = "TCP" } };
        var ingress = new List<V1NetworkPolicyIngressRule>
        {
            new() { FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = new V1LabelSelector() }], Ports = server },
            new() { FromProperty = [new V1NetworkPolicyPeer { PodSelector = own }] },
        };
        if (loadBalancer)
        {
            ingress.Add(new V1NetworkPolicyIngressRule { Ports = server });
        }

        return new V1NetworkPolicy
        {
            Metadata = Metadata(workspace, name),
            Spec = new V1NetworkPolicySpec { PodSelector = own, PolicyTypes = ["Ingress"], Ingress = ingress },
        };
    }

    public static V1Service HeadlessService(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        return new V1Service
        {
            Metadata = Metadata(workspace, $"{workspace.Metadata.Name}-headless"),
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                Selector = new Dictionary<string, string> { [Labels.Workspace] = workspace.Metadata.Name },
                PublishNotReadyAddresses = true,
            },
        };
    }

    public static V1StatefulSet StatefulSet(Workspace workspace, ModelPreset preset, GpuSku? sku, int replicas, string revision, ControllerOptions options, bool autoProvisioning) =>
        StatefulSet(workspace, workspace?.Inference ?? throw new ArgumentException("The workspace has no inference section.", nameof(workspace)),
            preset, sku, replicas, revision, options, autoProvisioning);

    /// <summary>
    /// The StatefulSet serving <paramref name="inference"/>: the workspace's own inference section, or what a finished
    /// tuning workspace serves (<see cref="TuningOutput"/>).
    /// </summary>
    public static V1StatefulSet StatefulSet(Workspace workspace, InferenceSpec inference, ModelPreset preset, GpuSku? sku, int replicas, string revision,
        ControllerOptions options, bool autoProvisioning)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(inference);
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        var name = workspace.Metadata.Name;
        var labels = new Dictionary<string, string> { [Labels.Workspace] = name };
        var resources = GpuResources(preset, sku);

        IReadOnlyDictionary<string, string> annotations = workspace.Metadata.Annotations?.AsReadOnly() ?? new Dictionary<string, string>().AsReadOnly();
        var tls = annotations.GetValueOrDefault(Annotations.TlsSecret);
        var probe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/health", Port = Port, Scheme = tls is null ? null : "HTTPS" }, PeriodSeconds = 10 };
        var args = new List<string> { "--model", Kaito.Api.Names.WorkloadPaths.Weights, "--served-model-name", preset.Name, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (workspace.Tuning is not null && inference.Adapters is [{ Source.Name: { Length: > 0 } tuned }])
        {
            // A tuning workspace serves what it produced: requests that name no model (and the brief's /chat) get it.
            args.AddRange(["--default-model", tuned]);
        }

        var mounts = new List<V1VolumeMount> { new() { Name = "dshm", MountPath = "/dev/shm" }, new() { Name = ModelWeights.Volume, MountPath = Kaito.Api.Names.WorkloadPaths.Weights, ReadOnlyProperty = true } };
        var volumes = new List<V1Volume>
        {
            new() { Name = "dshm", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory" } },
        };
        // The weights first: the server starts only once they are in its volume.
        var initContainers = new List<V1Container>();
        var pullSecrets = new List<V1LocalObjectReference>();
        ModelWeights.AddTo(workspace, inference.Preset, preset, options, volumes, initContainers, pullSecrets);
        if (volumes.Any(v => v.Name == ModelWeights.CacheVolume))
        {
            // The server exports (when the weights carry no ONNX form) into the node's cache: once per node and model.
            mounts.Add(new V1VolumeMount { Name = ModelWeights.CacheVolume, MountPath = options.ModelCachePath });
            args.AddRange(["--cache-dir", $"{options.ModelCachePath}/exports"]);
        }
        var env = new List<V1EnvVar>();

        if (annotations.GetValueOrDefault(Annotations.ApiKeysSecret) is { } keys)
        {
            volumes.Add(new V1Volume { Name = "api-keys", Secret = new V1SecretVolumeSource { SecretName = keys, Items = [new V1KeyToPath { Key = "api-keys", Path = "api-keys" }] } });
            mounts.Add(new V1VolumeMount { Name = "api-keys", MountPath = ApiKeysPath, ReadOnlyProperty = true });
            args.AddRange(["--api-keys-file", $"{ApiKeysPath}/api-keys"]);
        }

        if (tls is not null)
        {
            volumes.Add(new V1Volume { Name = "tls", Secret = new V1SecretVolumeSource { SecretName = tls } });
            mounts.Add(new V1VolumeMount { Name = "tls", MountPath = TlsPath, ReadOnlyProperty = true });
            args.AddRange(["--tls-cert-file", $"{TlsPath}/tls.crt", "--tls-key-file", $"{TlsPath}/tls.key"]);
        }

        // KAITO's inference ConfigMap (inference_config.yaml) at /mnt/config.
        if (inference.Config is { Length: > 0 } config)
        {
            volumes.Add(new V1Volume { Name = "config-volume", ConfigMap = new V1ConfigMapVolumeSource { Name = config } });
            mounts.Add(new V1VolumeMount { Name = "config-volume", MountPath = WorkloadPaths.Config });
            args.AddRange(["--kaito-config-file", $"{WorkloadPaths.Config}/inference_config.yaml"]);
        }

        // Adapters at /mnt/adapter/<name>: images pulled by an init container each, volumes mounted; served by name.
        var adapters = inference.Adapters ?? [];
        if (adapters.Count > 0)
        {
            volumes.Add(new V1Volume { Name = "adapter-volume", EmptyDir = new V1EmptyDirVolumeSource() });
            mounts.Add(new V1VolumeMount { Name = "adapter-volume", MountPath = Kaito.Api.Names.WorkloadPaths.Adapters });
            args.AddRange(["--adapters-dir", Kaito.Api.Names.WorkloadPaths.Adapters]);
            foreach (var adapter in adapters.Where(a => a.Source?.Name is { Length: > 0 }))
            {
                var adapterName = adapter.Source!.Name!;
                var path = $"{Kaito.Api.Names.WorkloadPaths.Adapters}/{adapterName}";
                if (adapter.Source.Image is { Length: > 0 } image)
                {
                    // The adapter lands in its own folder of the shared adapter volume, which the server sees at /mnt/adapter/<name>.
                    initContainers.Add(ImagePuller.Container(ContainerName("puller", adapterName), image, adapter.Source.ImagePullSecrets ?? [], "adapter-volume", path,
                        options, volumes, subPath: adapterName));
                    pullSecrets.AddRange((adapter.Source.ImagePullSecrets ?? []).Select(s => new V1LocalObjectReference { Name = s }));
                }
                else if (adapter.Source.VolumeSource is { } source)
                {
                    var volume = TuningWorkload.UserVolume($"adapter-{adapterName}", source);
                    volumes.Add(volume);
                    mounts.Add(new V1VolumeMount { Name = volume.Name, MountPath = path, ReadOnlyProperty = true });
                }

                if (adapter.Strength is { Length: > 0 } strength)
                {
                    env.Add(new V1EnvVar { Name = adapterName, Value = strength });
                }
            }
        }

        return new V1StatefulSet
        {
            Metadata = Metadata(workspace, name, revision),
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas,
                PodManagementPolicy = "Parallel",
                ServiceName = $"{name}-headless",
                Selector = new V1LabelSelector { MatchLabels = labels },
                PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy { WhenScaled = "Retain", WhenDeleted = "Delete" },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels), Annotations = new Dictionary<string, string> { [Annotations.Revision] = revision } },
                    Spec = PodSecurity.Harden(new V1PodSpec
                    {
                        InitContainers = initContainers.Count > 0 ? initContainers : null,
                        ImagePullSecrets = pullSecrets.Count > 0 ? pullSecrets.DistinctBy(p => p.Name).ToList() : null,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = name,
                                Image = $"{options.ImageRegistry}/kaito-inference-server:{options.ImageTag}",
                                Args = args,
                                Env = env.Count > 0 ? env : null,
                                Ports = [new V1ContainerPort { Name = "http", ContainerPort = Port }],
                                Resources = resources,
                                StartupProbe = new V1Probe { HttpGet = probe.HttpGet, PeriodSeconds = 10, FailureThreshold = StartupFailureThreshold(preset) },
                                LivenessProbe = new V1Probe { HttpGet = probe.HttpGet, PeriodSeconds = 10, FailureThreshold = 3 },
                                // KAITO waits 30 s before the first readiness probe; the startup probe already holds
                                // readiness back until /health passes, so the wait only delays serving.
                                ReadinessProbe = new V1Probe { HttpGet = probe.HttpGet, PeriodSeconds = 10 },
                                VolumeMounts = mounts,
                            },
                        ],
                        Volumes = volumes,
                        Tolerations = Tolerations(),
                        Affinity = new V1Affinity { NodeAffinity = new V1NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = NodeSelector(workspace, autoProvisioning) } },
                    }),
                },
            },
        };
    }

    /// <summary>
    /// The StatefulSet running a workspace's own pod template (KAITO's pkg/workspace/inference/template_inference.go):
    /// the user's pods as written, labelled for the workspace, one per target node, kept on the workspace's nodes by
    /// node affinity (ANDed into the template's own required terms) and given KAITO's tolerations after the template's.
    /// </summary>
    public static V1StatefulSet TemplateStatefulSet(Workspace workspace, int replicas, string revision, bool autoProvisioning)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var source = workspace.Inference?.Template ?? throw new ArgumentException("The workspace has no inference template.", nameof(workspace));
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(source.ToJsonString());
        var name = workspace.Metadata.Name;
        var labels = new Dictionary<string, string> { [Labels.Workspace] = name };
        template.Metadata ??= new V1ObjectMeta();
        template.Metadata.Labels = new Dictionary<string, string>(template.Metadata.Labels ?? new Dictionary<string, string>()) { [Labels.Workspace] = name };
        template.Metadata.Annotations = new Dictionary<string, string>(template.Metadata.Annotations ?? new Dictionary<string, string>()) { [Annotations.Revision] = revision };
        var spec = template.Spec;
        spec.Tolerations = [.. spec.Tolerations ?? [], .. Tolerations()];
        var ours = NodeSelector(workspace, autoProvisioning).NodeSelectorTerms[0].MatchExpressions;
        spec.Affinity ??= new V1Affinity();
        spec.Affinity.NodeAffinity ??= new V1NodeAffinity();
        var required = spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution;
        spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = required is { NodeSelectorTerms.Count: > 0 }
            ? new V1NodeSelector { NodeSelectorTerms = [.. required.NodeSelectorTerms.Select(t => new V1NodeSelectorTerm { MatchFields = t.MatchFields, MatchExpressions = [.. t.MatchExpressions ?? [], .. ours] })] }
            : new V1NodeSelector { NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = ours }] };
        return new V1StatefulSet
        {
            Metadata = Metadata(workspace, name, revision),
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas,
                PodManagementPolicy = "Parallel",
                ServiceName = $"{name}-headless",
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = template,
            },
        };
    }

    /// <summary>
    /// What a tuning workspace serves once its job has succeeded: the tuned preset with the adapter it produced, named
    /// after the workspace — pulled from the output image with the push secret, or mounted from the output volume. Null
    /// when nothing is kept (no output, an emptyDir) or the workspace opts out with <see cref="Annotations.ServeTuningOutput"/>.
    /// </summary>
    public static InferenceSpec? TuningOutput(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (workspace.Tuning is not { } tuning
            || (workspace.Metadata.Annotations?.TryGetValue(Annotations.ServeTuningOutput, out var serve) == true && serve.Equals("false", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var source = new DataSource { Name = workspace.Metadata.Name };
        if (tuning.Output?.Image is { Length: > 0 } image)
        {
            source.Image = image;
            source.ImagePullSecrets = tuning.Output.ImagePushSecret is { Length: > 0 } secret ? [secret] : null;
        }
        else if (tuning.Output?.VolumeSource is { } volume && !volume.ContainsKey("emptyDir"))
        {
            source.VolumeSource = volume;
        }
        else
        {
            return null;
        }

        return new InferenceSpec { Preset = tuning.Preset, Adapters = [new AdapterSpec { Source = source }] };
    }

    /// <summary><c>&lt;prefix&gt;-&lt;name&gt;</c>, cut to a container name's 63 characters.</summary>
    internal static string ContainerName(string prefix, string name)
    {
        var full = $"{prefix}-{name}";
        return full.Length <= 63 ? full : full[..63].TrimEnd('-');
    }

    /// <summary>The user's labels (In), plus, with provisioned nodes, the workspace's own node labels.</summary>
    internal static V1NodeSelector NodeSelector(Workspace workspace, bool autoProvisioning)
    {
        var expressions = (workspace.Resource?.LabelSelector?.MatchLabels ?? new Dictionary<string, string>())
            .Where(l => !Labels.IsReserved(l.Key))
            .Select(l => new V1NodeSelectorRequirement { Key = l.Key, OperatorProperty = "In", Values = [l.Value] })
            .Concat(workspace.Resource?.LabelSelector?.MatchExpressions?.Where(e => !Labels.IsReserved(e.Key))
                .Select(e => new V1NodeSelectorRequirement { Key = e.Key, OperatorProperty = e.OperatorProperty, Values = e.Values }) ?? [])
            .ToList();
        if (autoProvisioning)
        {
            expressions.Add(new V1NodeSelectorRequirement { Key = Labels.Workspace, OperatorProperty = "In", Values = [workspace.Metadata.Name] });
            expressions.Add(new V1NodeSelectorRequirement { Key = Labels.WorkspaceNamespace, OperatorProperty = "In", Values = [workspace.Metadata.NamespaceProperty] });
        }

        return new V1NodeSelector { NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = expressions }] };
    }

    /// <summary>Requests and limits of the SKU's GPUs (none for CPU-only presets or unknown SKUs).</summary>
    internal static V1ResourceRequirements GpuResources(ModelPreset preset, GpuSku? sku)
    {
        var resources = new V1ResourceRequirements();
        if (!preset.CpuOnly && sku is not null)
        {
            var gpus = new Dictionary<string, ResourceQuantity> { [Resources.NvidiaGpu] = new(sku.Gpus.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
            resources.Requests = gpus;
            resources.Limits = new Dictionary<string, ResourceQuantity>(gpus);
        }

        return resources;
    }

    /// <summary>KAITO's tolerations for workspace pods: the GPU taint, the <c>sku=gpu</c> taint of its NodeClaims, Azure spot.</summary>
    internal static List<V1Toleration> Tolerations() =>
    [
        new V1Toleration { Key = Resources.NvidiaGpu, OperatorProperty = "Exists", Effect = Taints.NoSchedule },
        new V1Toleration { Key = Taints.SkuKey, OperatorProperty = "Equal", Value = Taints.SkuValue, Effect = Taints.NoSchedule },
        new V1Toleration { Key = Taints.AzureSpotKey, OperatorProperty = "Equal", Value = Taints.AzureSpotValue, Effect = Taints.NoSchedule },
    ];

    /// <summary>KAITO's startup budget: 15 min + 18 s per GiB of weights, between 30 and 180 min, in 10 s probes.</summary>
    public static int StartupFailureThreshold(ModelPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        var budget = Math.Clamp(15 * 60 + 18 * preset.WeightsGiB, 30 * 60, 180 * 60);
        return (int)Math.Ceiling(budget / 10);
    }

    internal static V1ObjectMeta Metadata(Workspace workspace, string name, string? revision = null) => new()
    {
        Name = name,
        NamespaceProperty = workspace.Metadata.NamespaceProperty,
        Labels = new Dictionary<string, string> { [Labels.Workspace] = workspace.Metadata.Name },
        Annotations = revision is null ? null : new Dictionary<string, string> { [Annotations.Revision] = revision },
        OwnerReferences =
        [
            new V1OwnerReference
            {
                ApiVersion = workspace.ApiVersion,
                Kind = Workspace.KindName,
                Name = workspace.Metadata.Name,
                Uid = workspace.Metadata.Uid,
                Controller = true,
                BlockOwnerDeletion = true,
            },
        ],
    };
}
