namespace Kaito.Api.Names;

/// <summary>Finalizers KAITO and Karpenter put on objects.</summary>
public static class Finalizers
{
    /// <summary>Held on a workspace until its NodeClaims are gone.</summary>
    public const string Workspace = "workspace.finalizer.kaito.sh";

    /// <summary>Held on a NodeClaim until its cloud capacity and Node are gone.</summary>
    public const string KarpenterTermination = "karpenter.sh/termination";
}
