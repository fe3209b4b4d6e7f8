using k8s.Models;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// KAITO's image puller: an init container that copies an OCI image's <c>/data</c> folder (tuning data, a LoRA adapter
/// as the tuner pushes it) into a volume, authenticating with the image's pull secrets. Kaito runs its own puller
/// (image <c>kaito-model-puller</c>, <c>--layout image-data</c>) where KAITO runs skopeo and tar in a shell: the same
/// result, plus digest verification, resumed downloads, loopback registries over plain HTTP, ACR identities, and the
/// cause of a failure in the termination log.
/// </summary>
public static class ImagePuller
{
    /// <summary>Where the puller finds an image's pull secrets, one folder each.</summary>
    public const string SecretsPath = "/mnt/image-pull-secrets";

    /// <summary>
    /// The init container <paramref name="name"/> extracting <paramref name="image"/>'s <c>/data</c> into
    /// <paramref name="target"/>, where it mounts <paramref name="volume"/> (its <paramref name="subPath"/> folder when
    /// given, so that several images share one volume each in its own folder); each pull secret is added to
    /// <paramref name="volumes"/> and mounted for the puller.
    /// </summary>
    public static V1Container Container(string name, string image, IEnumerable<string> pullSecrets, string volume, string target, ControllerOptions options,
        List<V1Volume> volumes, string? subPath = null)
    {
        ArgumentNullException.ThrowIfNull(pullSecrets);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(volumes);
        var mounts = new List<V1VolumeMount> { new() { Name = volume, MountPath = target, SubPath = subPath } };
        var args = new List<string> { "--image", image, "--target", target, "--layout", "image-data", "--cache", "" };
        MountPullSecrets(name, pullSecrets, volumes, mounts, args);

        return new V1Container
        {
            Name = name,
            Image = ModelWeights.PullerImage(options),
            Args = args,
            VolumeMounts = mounts,
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    /// <summary>
    /// Each pull secret's <c>.dockerconfigjson</c> as <c>&lt;SecretsPath&gt;/&lt;secret&gt;/config.json</c> in the puller
    /// <paramref name="container"/>, and <c>--docker-config</c> pointing the puller there when there are any.
    /// </summary>
    internal static void MountPullSecrets(string container, IEnumerable<string> pullSecrets, List<V1Volume> volumes, List<V1VolumeMount> mounts, List<string> args)
    {
        var secrets = pullSecrets.Distinct(StringComparer.Ordinal).ToList();
        foreach (var secret in secrets)
        {
            var secretVolume = $"{container}-auth-{volumes.Count}";
            volumes.Add(new V1Volume { Name = secretVolume, Secret = new V1SecretVolumeSource { SecretName = secret, Items = [new V1KeyToPath { Key = ".dockerconfigjson", Path = "config.json" }] } });
            mounts.Add(new V1VolumeMount { Name = secretVolume, MountPath = $"{SecretsPath}/{secret}", ReadOnlyProperty = true });
        }

        if (secrets.Count > 0)
        {
            args.AddRange(["--docker-config", SecretsPath]);
        }
    }
}
