using k8s.Models;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// KAITO's image puller: an init container that copies an OCI image's <c>/data</c> folder (tuning data, a LoRA adapter
/// as the tuner pushes it) into a volume, authenticating with the image's pull secrets, and writes why it failed to
/// the termination log.
/// </summary>
public static class ImagePuller
{
    /// <summary>
    /// The init container <paramref name="name"/> copying <paramref name="image"/>'s <c>/data</c> into
    /// <paramref name="target"/>, where it mounts <paramref name="volume"/> (its <paramref name="subPath"/> folder when
    /// given, so that several images share one volume each in its own folder), with <paramref name="pullerImage"/> (sh,
    /// skopeo, tar); each pull secret is added to <paramref name="volumes"/> and mounted for skopeo.
    /// </summary>
    public static V1Container Container(string name, string image, IEnumerable<string> pullSecrets, string volume, string target, string pullerImage,
        List<V1Volume> volumes, string? subPath = null)
    {
        ArgumentNullException.ThrowIfNull(pullSecrets);
        ArgumentNullException.ThrowIfNull(volumes);
        var mounts = new List<V1VolumeMount> { new() { Name = volume, MountPath = target, SubPath = subPath } };
        var authFile = "";
        foreach (var secret in pullSecrets)
        {
            var secretVolume = $"{name}-auth-{volumes.Count}";
            volumes.Add(new V1Volume { Name = secretVolume, Secret = new V1SecretVolumeSource { SecretName = secret, Items = [new V1KeyToPath { Key = ".dockerconfigjson", Path = "config.json" }] } });
            mounts.Add(new V1VolumeMount { Name = secretVolume, MountPath = $"/auth/{secret}", ReadOnlyProperty = true });
            authFile = authFile.Length == 0 ? $"--authfile /auth/{secret}/config.json " : authFile;
        }

        return new V1Container
        {
            Name = name,
            Image = pullerImage,
            Command = ["/bin/sh", "-c", $$"""
                set -e
                skopeo copy {{authFile}}"docker://$SOURCE_IMAGE" dir:/tmp/image
                mkdir -p /tmp/root
                for layer in /tmp/image/*; do tar -xzf "$layer" -C /tmp/root 2>/dev/null || tar -xf "$layer" -C /tmp/root 2>/dev/null || true; done
                if [ ! -d /tmp/root/data ]; then echo "image $SOURCE_IMAGE has no /data folder" | tee /dev/termination-log >&2; exit 1; fi
                mkdir -p "{{target}}"
                cp -r /tmp/root/data/. "{{target}}/"
                """],
            Env = [new V1EnvVar { Name = "SOURCE_IMAGE", Value = image }],
            VolumeMounts = mounts,
        };
    }
}
