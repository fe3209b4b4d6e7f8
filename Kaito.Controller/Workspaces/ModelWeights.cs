using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// How base weights reach a workspace pod, as KAITO's model-weights-downloader init container does it
/// (pkg/workspace/tuning/preset_tuning.go, pkg/workspace/inference/preset_inferences.go): the preset's model image —
/// <c>&lt;ModelRegistry&gt;/kaito-&lt;preset&gt;:&lt;tag pinned in the catalog&gt;</c>, or the workspace's private
/// <c>presetOptions.image</c> — is pulled into the weights volume before the main container starts. The puller is
/// Kaito's own (image <c>kaito-model-puller</c>): the node's blob cache (a hostPath) means a second pod of the same
/// model on the node downloads nothing, downloads resume and are digest-verified, and a failure's cause (missing
/// image, refused credentials, corrupt blob) is the container's termination message, which the workspace's
/// InferenceReady condition repeats.
/// </summary>
public static class ModelWeights
{
    public const string ContainerName = "model-weights-downloader";
    public const string Volume = "model-weights-volume";
    public const string CacheVolume = "model-cache";

    /// <summary>Where the puller finds the pod's image pull secrets, one folder each.</summary>
    public const string PullSecretsPath = "/mnt/model-pull-secrets";

    /// <summary>The model image a workspace's pods pull.</summary>
    public static string Image(PresetSpec? spec, ModelPreset preset, ControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        return spec?.PresetOptions?.Image is { Length: > 0 } image ? image : $"{options.ModelRegistry}/{preset.ImageRepository}:{preset.ImageTag}";
    }

    /// <summary>
    /// The init container pulling <paramref name="image"/> into the weights volume; its cache and pull-secret volumes
    /// are added to <paramref name="volumes"/>.
    /// </summary>
    public static V1Container Downloader(string image, IReadOnlyList<string> pullSecrets, ControllerOptions options, List<V1Volume> volumes)
    {
        ArgumentNullException.ThrowIfNull(pullSecrets);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(volumes);
        var mounts = new List<V1VolumeMount> { new() { Name = Volume, MountPath = WorkloadPaths.Weights } };
        var args = new List<string> { "--image", image, "--target", WorkloadPaths.Weights };
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

        foreach (var (secret, index) in pullSecrets.Distinct(StringComparer.Ordinal).Select((s, i) => (s, i)))
        {
            var name = $"model-pull-secret-{index}";
            volumes.Add(new V1Volume { Name = name, Secret = new V1SecretVolumeSource { SecretName = secret, Items = [new V1KeyToPath { Key = ".dockerconfigjson", Path = "config.json" }] } });
            mounts.Add(new V1VolumeMount { Name = name, MountPath = $"{PullSecretsPath}/{secret}", ReadOnlyProperty = true });
        }

        if (pullSecrets.Count > 0)
        {
            args.AddRange(["--docker-config", PullSecretsPath]);
        }

        return new V1Container
        {
            Name = ContainerName,
            Image = $"{options.ImageRegistry}/kaito-model-puller:{options.ImageTag}",
            Args = args,
            VolumeMounts = mounts,
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }
}
