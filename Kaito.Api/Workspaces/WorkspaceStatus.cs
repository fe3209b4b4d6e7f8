using System.Text.Json.Serialization;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>WorkspaceStatus is the observed state of a workspace.</summary>
public sealed class WorkspaceStatus
{
    /// <summary>The names of the nodes the workspace runs on.</summary>
    [JsonPropertyName("workerNodes")]
    public IList<string>? WorkerNodes { get; set; }

    /// <summary>The latest observations of the workspace's state.</summary>
    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }

    /// <summary>The number of GPU nodes the workspace needs, estimated once by the controller.</summary>
    [JsonPropertyName("targetNodeCount")]
    [SchemaRange(Minimum = 0)]
    public int? TargetNodeCount { get; set; }

    /// <summary>A one-word summary: Pending, Ready, NotReady, Running, Succeeded or Failed.</summary>
    [JsonPropertyName("state")]
    [SchemaEnum(WorkspaceStates.Pending, WorkspaceStates.Ready, WorkspaceStates.NotReady,
        WorkspaceStates.Running, WorkspaceStates.Succeeded, WorkspaceStates.Failed)]
    public string? State { get; set; }

    /// <summary>What the post-load benchmark measured.</summary>
    [JsonPropertyName("performance")]
    public PerformanceStatus? Performance { get; set; }
}
