namespace Kaito.Api.Names;

/// <summary>Reasons on a workspace's conditions, as KAITO writes them.</summary>
public static class ConditionReasons
{
    /// <summary>NodeClaimReady True.</summary>
    public const string NodeClaimsReady = "NodeClaimsReady";

    /// <summary>NodeClaimReady False.</summary>
    public const string NodeClaimNotReady = "NodeClaimNotReady";

    /// <summary>NodesReady True.</summary>
    public const string NodesReady = "NodesReady";

    /// <summary>NodesReady False.</summary>
    public const string NodeNotReady = "NodeNotReady";

    /// <summary>NodesReady False: the GPU device plugin has not reported GPUs yet.</summary>
    public const string NodePluginsNotReady = "NodePluginsNotReady";

    /// <summary>ResourceReady True.</summary>
    public const string ResourceReady = "workspaceResourceStatusSuccess";

    /// <summary>ResourceReady False.</summary>
    public const string ResourceNotReady = "workspaceResourceStatusNotReady";

    /// <summary>InferenceReady True.</summary>
    public const string InferenceReady = "WorkspaceInferenceStatusSuccess";

    /// <summary>InferenceReady False while the pods start.</summary>
    public const string InferencePending = "WorkspaceInferenceStatusPending";

    /// <summary>WorkspaceSucceeded / WorkspaceReady True.</summary>
    public const string WorkspaceSucceeded = "workspaceSucceeded";

    /// <summary>WorkspaceDeleting True.</summary>
    public const string WorkspaceDeleted = "workspaceDeleted";

    /// <summary>WorkspaceSucceeded / WorkspaceReady False while work is pending.</summary>
    public const string WorkspacePending = "workspacePending";

    /// <summary>WorkspaceSucceeded / WorkspaceReady False: the tuning job failed.</summary>
    public const string WorkspaceFailed = "workspaceFailed";

    /// <summary>JobStarted True.</summary>
    public const string TuningJobStarted = "WorkspaceTuningJobStatusStarted";

    /// <summary>JobStarted False until the job is created (or while its inputs are missing).</summary>
    public const string TuningJobPending = "WorkspaceTuningJobStatusPending";

    /// <summary>JobStarted False: the job failed.</summary>
    public const string TuningJobFailed = "WorkspaceTuningJobStatusFailed";

    /// <summary>InferenceReady False: an image cannot be pulled (ErrImagePull, ImagePullBackOff, InvalidImageName).</summary>
    public const string ImagePullError = "ImagePullError";

    /// <summary>InferenceReady False: a container keeps crashing.</summary>
    public const string ContainerCrashLoopBackOff = "ContainerCrashLoopBackOff";

    /// <summary>InferenceReady False: a container was killed for exceeding its memory.</summary>
    public const string ContainerOOMKilled = "ContainerOOMKilled";

    /// <summary>InferenceReady False: a container could not be created or started.</summary>
    public const string ContainerStartError = "ContainerStartError";

    /// <summary>InferenceReady False: a pod was evicted.</summary>
    public const string PodEvicted = "PodEvicted";

    /// <summary>InferenceReady False: a pod's node is short of disk.</summary>
    public const string NodeDiskPressure = "NodeDiskPressure";

    /// <summary>InferenceReady False: a pod's node is short of memory.</summary>
    public const string NodeMemoryPressure = "NodeMemoryPressure";

    /// <summary>InferenceReady False: a pod fits on no node.</summary>
    public const string Unschedulable = "Unschedulable";
}
