using System.Globalization;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// Who a container of a pulled image runs as, by the kubelet's rules: <c>runAsUser</c>/<c>runAsGroup</c> of the
/// container's securityContext, else the pod's, else the image's <c>User</c> (a number, or a name looked up in the
/// image's own <c>/etc/passwd</c> and <c>/etc/group</c>), else root; <c>runAsNonRoot</c> refuses uid 0 as the kubelet does.
/// </summary>
public static class ContainerUser
{
    /// <summary>The uid and gid, or the error that keeps the container from being created.</summary>
    public static (long? User, long? Group, string? Error) Resolve(JsonObject pod, JsonObject container, PulledImage image)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(image);
        var podContext = pod["spec"]?["securityContext"] as JsonObject;
        var context = container["securityContext"] as JsonObject;
        long? Field(string name) => (context?[name] ?? podContext?[name]) is JsonValue value && value.TryGetValue<long>(out var n) ? n : null;

        var user = Field("runAsUser");
        var group = Field("runAsGroup");
        if (user is null && image.User is { } spec)
        {
            var parts = spec.Split(':', 2);
            user = Id(parts[0], Path.Combine(image.RootFilesystem, "etc", "passwd"));
            if (user is null)
            {
                return (null, null, $"image {image.Reference} names user '{parts[0]}', which its /etc/passwd does not have");
            }

            if (group is null && parts.Length == 2)
            {
                group = Id(parts[1], Path.Combine(image.RootFilesystem, "etc", "group"));
                if (group is null)
                {
                    return (null, null, $"image {image.Reference} names group '{parts[1]}', which its /etc/group does not have");
                }
            }
        }

        user ??= 0;
        group ??= PrimaryGroup(image, user.Value) ?? 0;
        var nonRoot = (context?["runAsNonRoot"] ?? podContext?["runAsNonRoot"]) is JsonValue flag && flag.TryGetValue<bool>(out var b) && b;
        if (nonRoot && user == 0)
        {
            return (null, null, image.User is null && Field("runAsUser") is null
                ? "container has runAsNonRoot and image will run as root"
                : "container's runAsUser breaks non-root policy");
        }

        return (user, group, null);
    }

    /// <summary>The user's home folder in the image's /etc/passwd, <c>/root</c> for root, else <c>/</c> (as containerd sets HOME).</summary>
    public static string Home(PulledImage image, long user)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Entry(Path.Combine(image.RootFilesystem, "etc", "passwd"), user) is { Length: > 5 } fields && fields[5].Length > 0 ? fields[5] : user == 0 ? "/root" : "/";
    }

    private static long? PrimaryGroup(PulledImage image, long user) =>
        Entry(Path.Combine(image.RootFilesystem, "etc", "passwd"), user) is { Length: > 3 } fields && long.TryParse(fields[3], CultureInfo.InvariantCulture, out var gid) ? gid : null;

    /// <summary>A number as it is; a name from the image's passwd or group file (its third field).</summary>
    private static long? Id(string name, string file)
    {
        if (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        return Lines(file).Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 2 && f[0] == name) is { } fields
            && long.TryParse(fields[2], CultureInfo.InvariantCulture, out var found) ? found : null;
    }

    private static string[]? Entry(string passwd, long user) =>
        Lines(passwd).Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 2 && f[2] == user.ToString(CultureInfo.InvariantCulture));

    /// <summary>The file's lines, at most 64 KiB of it (the image's bytes are untrusted), none when it is missing or a link out.</summary>
    private static string[] Lines(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null || info.Length > 64 * 1024)
        {
            return [];
        }

        return File.ReadAllLines(path);
    }
}
