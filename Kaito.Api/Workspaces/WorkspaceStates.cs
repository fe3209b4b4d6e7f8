namespace Kaito.Api.Workspaces;

/// <summary>Values of <see cref="WorkspaceStatus.State"/>.</summary>
public static class WorkspaceStates
{
    /// <summary>Nothing is serving or running yet.</summary>
    public const string Pending = "Pending";

    /// <summary>Inference serves.</summary>
    public const string Ready = "Ready";

    /// <summary>Inference served before and does not now.</summary>
    public const string NotReady = "NotReady";

    /// <summary>The tuning job runs.</summary>
    public const string Running = "Running";

    /// <summary>The tuning job succeeded.</summary>
    public const string Succeeded = "Succeeded";

    /// <summary>The tuning job failed.</summary>
    public const string Failed = "Failed";
}
