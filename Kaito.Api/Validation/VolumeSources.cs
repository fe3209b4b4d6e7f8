using System.Text.Json.Nodes;

namespace Kaito.Api.Validation;

/// <summary>
/// Which pod volume types a workspace may name for its data, results and adapters. A workspace author otherwise chooses
/// any volume of the pods the controller runs: <c>hostPath: /</c> would hand them the node's root file system. Allowed
/// are the types whose access Kubernetes already checks in the namespace: PersistentVolumeClaims (and generic ephemeral
/// volumes, which make one), ConfigMaps, Secrets, emptyDir, CSI and image volumes.
/// </summary>
public static class VolumeSources
{
    /// <summary>The volume types a workspace may use, in the order the error lists them.</summary>
    public static readonly IReadOnlyList<string> Allowed =
        ["persistentVolumeClaim", "ephemeral", "configMap", "secret", "emptyDir", "csi", "image"];

    /// <summary>Why <paramref name="source"/> (a core/v1 VolumeSource) is refused, or null.</summary>
    public static string? Problem(JsonObject? source)
    {
        if (source is null)
        {
            return null;
        }

        var types = source.Select(p => p.Key).ToList();
        if (types.Count != 1)
        {
            return types.Count == 0
                ? "a volume source must name one volume type"
                : $"a volume source must name one volume type, not {types.Count} ({string.Join(", ", types)})";
        }

        var type = types[0];
        if (source[type] is not JsonObject)
        {
            return $"{type} must be an object";
        }

        return Allowed.Contains(type, StringComparer.Ordinal)
            ? null
            : $"volume type {type} is not allowed for workspaces: use one of {string.Join(", ", Allowed)} " +
              "(hostPath, nfs and other direct node or network storage bypass the namespace's access control; reach them through a PersistentVolumeClaim)";
    }
}
