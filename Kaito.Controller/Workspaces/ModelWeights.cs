using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// How base weights reach a workspace pod's <c>/workspace/weights</c>, in order:
/// <list type="number">
/// <item><c>kaito.sh/use-local-weights: "true"</c> — weights baked on the node, KAITO's hostPath
/// <c>/opt/kaito/models/&lt;preset&gt;</c>, read-only; nothing downloaded.</item>
/// <item><c>kaito.sh/model-weights-claim: &lt;pvc&gt;</c> (ours) — a PersistentVolumeClaim holding the model's Hugging
/// Face files, read-only: air-gapped clusters.</item>
/// <item><c>Controller:ModelSource=huggingface</c> — KAITO's download-at-runtime: the preset's Hugging Face repository at
/// its catalog revision, the token from <c>presetOptions.modelAccessSecret</c> (key <c>HF_TOKEN</c>) for gated models.</item>
/// <item>otherwise the preset's model image — <c>&lt;ModelRegistry&gt;/kaito-&lt;preset&gt;:&lt;tag pinned in the catalog&gt;</c>, or
/// the workspace's private <c>presetOptions.image</c> — as KAITO's model-weights-downloader pulls it
/// (pkg/workspace/tuning/preset_tuning.go).</item>
/// </list>
/// Downloads are done by Kaito's own puller (image <c>kaito-model-puller</c>) in the init container
/// <c>model-weights-downloader</c>: through the node's blob cache (a hostPath) so a second pod of the same model on the
/// node downloads nothing, resumed and verified, and a failure's cause (missing image, refused credentials, gated model,
/// corrupt blob) is the container's termination message, which the workspace's InferenceReady condition repeats.
/// </summary>
public static class ModelWeights
{
    public const string ContainerName = "model-weights-downloader";
    public const string Volume = "model-weights-volume";
    public const string CacheVolume = "model-cache";

    /// <summary>Where KAITO's nodes keep baked weights for <c>kaito.sh/use-local-weights</c>.</summary>
    public const string LocalWeightsRoot = "/opt/kaito/models";

    public const string ImageSource = "image";
    public const string HuggingFaceSource = "huggingface";

    /// <summary>
    /// Adds the weights volume to <paramref name="volumes"/> and, when the weights are downloaded, the init container
    /// that fills it to <paramref name="initContainers"/> (and the model image's pull secrets to <paramref name="pullSecrets"/>).
    /// </summary>
    public static void AddTo(Workspace workspace, PresetSpec? spec, ModelPreset preset, ControllerOptions options, List<V1Volume> volumes,
        List<V1Container> initContainers, List<V1LocalObjectReference> pullSecrets)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(volumes);
        ArgumentNullException.ThrowIfNull(initContainers);
        ArgumentNullException.ThrowIfNull(pullSecrets);
        IDictionary<string, string> annotations = workspace.Metadata.Annotations ?? new Dictionary<string, string>();
        if (annotations.TryGetValue(Annotations.UseLocalWeights, out var local) && local.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            volumes.Add(new V1Volume { Name = Volume, HostPath = new V1HostPathVolumeSource { Path = LocalWeightsPath(preset), Type = "Directory" } });
            return;
        }

        if (annotations.TryGetValue(Annotations.ModelWeightsClaim, out var claim) && claim.Length > 0)
        {
            volumes.Add(new V1Volume { Name = Volume, PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim, ReadOnlyProperty = true } });
            return;
        }

        volumes.Add(new V1Volume { Name = Volume, EmptyDir = new V1EmptyDirVolumeSource() });
        if (string.Equals(options.ModelSource, HuggingFaceSource, StringComparison.OrdinalIgnoreCase) && spec?.PresetOptions?.Image is not { Length: > 0 })
        {
            var args = new List<string> { "--hf-model", preset.Id, "--revision", preset.Revision ?? "main", "--hf-endpoint", options.HuggingFaceEndpoint };
            var env = spec?.PresetOptions?.ModelAccessSecret is { Length: > 0 } secret
                ? new List<V1EnvVar> { new() { Name = "HF_TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret, Key = "HF_TOKEN" } } } }
                : null;
            initContainers.Add(Downloader(args, [], env, options, volumes));
            return;
        }

        var pullSecretNames = spec?.PresetOptions?.ImagePullSecrets ?? [];
        pullSecrets.AddRange(pullSecretNames.Select(s => new V1LocalObjectReference { Name = s }));
        var image = spec?.PresetOptions?.Image is { Length: > 0 } privateImage ? privateImage : $"{options.ModelRegistry}/{preset.ImageRepository}:{preset.ImageTag}";
        initContainers.Add(Downloader(["--image", image], [.. pullSecretNames], env: null, options, volumes));
    }

    /// <summary>Kaito's puller image, which fetches model weights and images' <c>/data</c>.</summary>
    public static string PullerImage(ControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return $"{options.ImageRegistry}/kaito-model-puller:{options.ImageTag}";
    }

    /// <summary>KAITO's folder of baked weights on the node: the preset name lower-cased, '/' as '-'.</summary>
    public static string LocalWeightsPath(ModelPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return $"{LocalWeightsRoot}/{preset.Name.ToLowerInvariant().Replace('/', '-')}";
    }

    /// <summary>The puller container with <paramref name="source"/> arguments; its cache and pull-secret volumes are added to <paramref name="volumes"/>.</summary>
    private static V1Container Downloader(List<string> source, IReadOnlyList<string> pullSecrets, List<V1EnvVar>? env, ControllerOptions options, List<V1Volume> volumes)
    {
        var mounts = new List<V1VolumeMount> { new() { Name = Volume, MountPath = WorkloadPaths.Weights } };
        var args = new List<string>(source) { "--target", WorkloadPaths.Weights };
        if (!string.IsNullOrWhiteSpace(options.ModelCachePath))
        {
            volumes.Add(new V1Volume { Name = CacheVolume, HostPath = new V1HostPathVolumeSource { Path = options.ModelCachePath, Type = "DirectoryOrCreate" } });
            mounts.Add(new V1VolumeMount { Name = CacheVolume, MountPath = options.ModelCachePath });
            args.AddRange(["--cache", options.ModelCachePath]);
        }
        else
        {
            args.AddRange(["--cache", ""]);
        }

        ImagePuller.MountPullSecrets(ContainerName, pullSecrets, volumes, mounts, args);

        return new V1Container
        {
            Name = ContainerName,
            Image = PullerImage(options),
            Args = args,
            Env = env,
            VolumeMounts = mounts,
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }
}
