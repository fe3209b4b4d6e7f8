using k8s;

namespace Kaito.Api.Workspaces;

/// <summary>
/// Converts a Workspace between v1alpha1 and v1beta1. Both versions share one schema (v1beta1 only adds fields and
/// deprecates others, as in KAITO), so the CRD's conversion strategy is None and conversion is a deep copy with the
/// new apiVersion: nothing is dropped in either direction.
/// </summary>
public static class WorkspaceConversion
{
    /// <summary>The versions served, oldest first.</summary>
    public static readonly IReadOnlyList<string> Versions = [KaitoGroup.V1Alpha1, KaitoGroup.V1Beta1];

    /// <summary>A copy of <paramref name="workspace"/> in <paramref name="version"/> (v1alpha1 or v1beta1).</summary>
    public static Workspace ConvertTo(Workspace workspace, string version)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!Versions.Contains(version))
        {
            throw new ArgumentException($"Workspace has no version '{version}'; served versions are {string.Join(", ", Versions)}.", nameof(version));
        }

        var copy = KubernetesJson.Deserialize<Workspace>(KubernetesJson.Serialize(workspace));
        copy.ApiVersion = $"{KaitoGroup.Name}/{version}";
        return copy;
    }
}
