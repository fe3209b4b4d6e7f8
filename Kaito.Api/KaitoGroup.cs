namespace Kaito.Api;

/// <summary>The API groups and versions Kaito serves and consumes.</summary>
public static class KaitoGroup
{
    /// <summary>KAITO's own API group (Workspace, KaitoNodeClass).</summary>
    public const string Name = "kaito.sh";

    /// <summary>The version the brief's quick start uses; served, not stored.</summary>
    public const string V1Alpha1 = "v1alpha1";

    /// <summary>The storage version.</summary>
    public const string V1Beta1 = "v1beta1";

    /// <summary>Karpenter's API group, home of NodeClaim.</summary>
    public const string Karpenter = "karpenter.sh";

    /// <summary>The NodeClaim version KAITO creates.</summary>
    public const string KarpenterV1 = "v1";
}
