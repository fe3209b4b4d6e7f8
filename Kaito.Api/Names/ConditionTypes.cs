namespace Kaito.Api.Names;

/// <summary>Condition types on a workspace's and a NodeClaim's status.</summary>
public static class ConditionTypes
{
    /// <summary>Enough NodeClaims are ready.</summary>
    public const string NodeClaimReady = "NodeClaimReady";

    /// <summary>Enough nodes are ready, with their GPU plugin.</summary>
    public const string NodesReady = "NodesReady";

    /// <summary>The workspace's compute is ready.</summary>
    public const string ResourceReady = "ResourceReady";

    /// <summary>The inference workload serves.</summary>
    public const string InferenceReady = "InferenceReady";

    /// <summary>The tuning job started.</summary>
    public const string JobStarted = "JobStarted";

    /// <summary>KAITO's summary: inference serving or tuning succeeded.</summary>
    public const string WorkspaceSucceeded = "WorkspaceSucceeded";

    /// <summary>The summary the brief's quick start shows: True when inference serves, or when tuning has succeeded.</summary>
    public const string WorkspaceReady = "WorkspaceReady";

    /// <summary>The workspace is being deleted.</summary>
    public const string WorkspaceDeleting = "WorkspaceDeleting";

    /// <summary>NodeClaim: the cloud accepted the capacity request.</summary>
    public const string Launched = "Launched";

    /// <summary>NodeClaim: a Node with the claim's provider ID joined.</summary>
    public const string Registered = "Registered";

    /// <summary>NodeClaim: the Node is Ready with its requested resources.</summary>
    public const string Initialized = "Initialized";

    /// <summary>NodeClaim: launched, registered and initialized.</summary>
    public const string Ready = "Ready";
}
