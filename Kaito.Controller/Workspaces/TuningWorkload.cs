using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// The Job that fine-tunes a preset (KAITO's pkg/workspace/tuning/preset_tuning.go), running Kaito's tuner: data from URLs (an init container
/// downloading with KAITO's rules), from an image (its <c>/data</c> extracted) or from a volume at <c>/mnt/data</c>;
/// base weights in <c>/workspace/weights</c> from the preset's model image, the Hub or a volume (<see cref="ModelWeights"/>); the training config ConfigMap at <c>/mnt/config</c>;
/// results at the config's <c>output_dir</c> (a volume, or pushed as an image by the tuner itself with the
/// <c>imagePushSecret</c> mounted as its docker config). Unlike KAITO there is no ORAS pusher sidecar and pause
/// container: the tuner pushes after training and the Job's one container ends with the work.
/// </summary>
public static class TuningWorkload
{
    private const string DataPath = WorkloadPaths.TuningData;
    private const string ConfigPath = WorkloadPaths.Config;
    private const string DockerConfigPath = WorkloadPaths.DockerConfig;

    /// <summary>The ConfigMap a workspace trains with: its own, or the method's default template.</summary>
    public static string ConfigMapName(TuningSpec tuning)
    {
        ArgumentNullException.ThrowIfNull(tuning);
        return !string.IsNullOrEmpty(tuning.Config) ? tuning.Config : DefaultTemplateName(tuning.Method);
    }

    /// <summary><c>lora-params-template</c> or <c>qlora-params-template</c>, KAITO's default ConfigMap names.</summary>
    public static string DefaultTemplateName(string? method) =>
        TuningMethods.IsQLora(method) ? "qlora-params-template" : "lora-params-template";

    /// <summary>The built-in default template of a method, as a ConfigMap in <paramref name="ns"/>.</summary>
    public static V1ConfigMap DefaultTemplate(string? method, string ns) => new()
    {
        Metadata = new V1ObjectMeta { Name = DefaultTemplateName(method), NamespaceProperty = ns },
        Data = new Dictionary<string, string>
        {
            [TrainingConfigValidator.FileName] = TrainingConfigValidator.DefaultTemplate(method),
        },
    };

    public static V1Job Job(Workspace workspace, ModelPreset preset, GpuSku? sku, string revision, string outputDirectory, ControllerOptions options, bool autoProvisioning)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        var tuning = workspace.Tuning ?? throw new ArgumentException("The workspace has no tuning section.", nameof(workspace));
        var name = workspace.Metadata.Name;
        var labels = new Dictionary<string, string> { [Labels.Workspace] = name };

        var volumes = new List<V1Volume>
        {
            new() { Name = "dshm", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory" } },
            new() { Name = "config-volume", ConfigMap = new V1ConfigMapVolumeSource { Name = ConfigMapName(tuning) } },
            Volume("data-volume", tuning.Input?.VolumeSource),
            Volume("results-volume", tuning.Output?.VolumeSource),
        };
        var mounts = new List<V1VolumeMount>
        {
            new() { Name = "dshm", MountPath = "/dev/shm" },
            new() { Name = ModelWeights.Volume, MountPath = WorkloadPaths.Weights },
            new() { Name = "config-volume", MountPath = ConfigPath },
            new() { Name = "data-volume", MountPath = DataPath },
            new() { Name = "results-volume", MountPath = outputDirectory },
        };
        var args = new List<string>
        {
            "--config", $"{ConfigPath}/{TrainingConfigValidator.FileName}",
            "--data", DataPath,
            "--model", WorkloadPaths.Weights,
            "--output", outputDirectory,
        };

        var pullSecrets = new List<V1LocalObjectReference>();
        if (tuning.Output?.Image is { Length: > 0 } outputImage)
        {
            args.AddRange(["--output-image", outputImage, "--docker-config", $"{DockerConfigPath}/config.json"]);
            if (tuning.Output.ImagePushSecret is { Length: > 0 } pushSecret)
            {
                volumes.Add(new V1Volume
                {
                    Name = "docker-config",
                    Secret = new V1SecretVolumeSource { SecretName = pushSecret, Items = [new V1KeyToPath { Key = ".dockerconfigjson", Path = "config.json" }] },
                });
                mounts.Add(new V1VolumeMount { Name = "docker-config", MountPath = DockerConfigPath, ReadOnlyProperty = true });
                pullSecrets.Add(new V1LocalObjectReference { Name = pushSecret });
            }
        }

        pullSecrets.AddRange((tuning.Input?.ImagePullSecrets ?? []).Select(s => new V1LocalObjectReference { Name = s }));
        var initContainers = new List<V1Container>();
        ModelWeights.AddTo(workspace, tuning.Preset, preset, options, volumes, initContainers, pullSecrets);
        if (tuning.Input?.Urls is { Count: > 0 } urls)
        {
            initContainers.Add(DataDownloader(urls, options));
        }
        else if (tuning.Input?.Image is { Length: > 0 } inputImage)
        {
            initContainers.Add(ImagePuller.Container("data-puller", inputImage, tuning.Input.ImagePullSecrets ?? [], "data-volume", DataPath, options, volumes));
        }

        return new V1Job
        {
            Metadata = InferenceWorkload.Metadata(workspace, name, revision),
            Spec = new V1JobSpec
            {
                BackoffLimit = options.TuningBackoffLimit,
                // A bound on the whole Job (downloads, training, push), so a stuck run cannot hold its GPUs for ever.
                ActiveDeadlineSeconds = (long)options.TuningActiveDeadline.TotalSeconds,
                // Bad input (2) and what the build cannot do (3) fail at once: retrying cannot help.
                PodFailurePolicy = new V1PodFailurePolicy
                {
                    Rules =
                    [
                        new V1PodFailurePolicyRule
                        {
                            Action = "FailJob",
                            OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = name, OperatorProperty = "In", Values = [2, 3] },
                        },
                    ],
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels), Annotations = new Dictionary<string, string> { [Annotations.Revision] = revision } },
                    Spec = PodSecurity.Harden(new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        InitContainers = initContainers,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = name,
                                Image = TunerImage(options),
                                Args = args,
                                Env = [new V1EnvVar { Name = "PYTORCH_CUDA_ALLOC_CONF", Value = "expandable_segments:True" }],
                                Resources = InferenceWorkload.GpuResources(preset, sku),
                                VolumeMounts = mounts,
                                TerminationMessagePath = "/dev/termination-log",
                                TerminationMessagePolicy = "FallbackToLogsOnError",
                            },
                        ],
                        Volumes = volumes,
                        ImagePullSecrets = pullSecrets.Count > 0 ? pullSecrets.DistinctBy(s => s.Name).ToList() : null,
                        Tolerations = InferenceWorkload.Tolerations(),
                        Affinity = new V1Affinity { NodeAffinity = new V1NodeAffinity { RequiredDuringSchedulingIgnoredDuringExecution = InferenceWorkload.NodeSelector(workspace, autoProvisioning) } },
                    }),
                },
            },
        };
    }

    /// <summary>The user's volume source, or an emptyDir.</summary>
    private static V1Volume Volume(string name, JsonObject? source)
    {
        if (source is null)
        {
            return new V1Volume { Name = name, EmptyDir = new V1EmptyDirVolumeSource() };
        }

        return UserVolume(name, source);
    }

    /// <summary>
    /// A volume of the workspace's own choosing, re-checked against the admission rule: a workspace admitted without the
    /// webhook (or before it) still never mounts hostPath or the like into a pod.
    /// </summary>
    internal static V1Volume UserVolume(string name, JsonObject source)
    {
        if (VolumeSources.Problem(source) is { } problem)
        {
            throw new InvalidOperationException($"volume {name}: {problem}");
        }

        var volume = KubernetesJson.Deserialize<V1Volume>(source.ToJsonString());
        volume.Name = name;
        return volume;
    }

    /// <summary>
    /// KAITO's data-downloader, run by the tuner image itself (<c>kaito-tuner download</c>) rather than a shell and curl:
    /// each URL in turn with KAITO's rules (three tries, HTTP 200, a non-empty file named after the URL's path), and
    /// every connection and redirect checked against the address rule, which curl cannot do. The reason of a failure
    /// goes to the termination log. URLs are passed space-separated, with any comma in them escaped.
    /// </summary>
    private static V1Container DataDownloader(IList<string> urls, ControllerOptions options)
    {
        List<string> args = ["download", "--data-urls", string.Join(' ', urls.Select(u => u.Replace(",", "%2C", StringComparison.Ordinal))), "--data", DataPath];
        if (!string.IsNullOrWhiteSpace(options.AllowedDataHosts))
        {
            args.AddRange(["--allowed-data-hosts", options.AllowedDataHosts]);
        }

        return new V1Container
        {
            Name = "data-downloader",
            Image = TunerImage(options),
            Args = args,
            VolumeMounts = [new V1VolumeMount { Name = "data-volume", MountPath = DataPath }],
            TerminationMessagePath = "/dev/termination-log",
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    /// <summary>Kaito's tuner image, which trains and also downloads tuning data.</summary>
    public static string TunerImage(ControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return $"{options.ImageRegistry}/kaito-tuner:{options.ImageTag}";
    }

    /// <summary>The cause a failed tuning pod left: its containers' termination messages, else their reasons.</summary>
    public static string? FailureCause(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []);
        var terminated = statuses.Select(s => (s.Name, State: s.State?.Terminated)).FirstOrDefault(s => s.State is { ExitCode: not 0 });
        if (terminated.State is null)
        {
            return pod.Status?.Reason is { } reason ? $"{reason}: {pod.Status.Message}" : null;
        }

        var message = terminated.State.Message?.Trim();
        return string.IsNullOrEmpty(message)
            ? $"container {terminated.Name} exited with code {terminated.State.ExitCode} ({terminated.State.Reason})"
            : $"container {terminated.Name} exited with code {terminated.State.ExitCode}: {message}";
    }
}
