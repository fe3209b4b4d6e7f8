using System.Text.Json.Serialization;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>ResourceSpec describes the resources needed to run the workload, and how GPU nodes are chosen.</summary>
public sealed class ResourceSpec
{
    /// <summary>
    /// The required number of GPU nodes. Deprecated in v1beta1: the controller estimates the node count
    /// (status.targetNodeCount); it is still used by the transformers runtime. Tuning supports one node only.
    /// </summary>
    [JsonPropertyName("count")]
    [SchemaDefault(1)]
    [SchemaRange(Minimum = 1)]
    public int? Count { get; set; }

    /// <summary>
    /// The GPU node SKU (for example Standard_NC24ads_A100_v4). Required when node auto-provisioning is enabled;
    /// must be empty for bring-your-own nodes. Immutable once set.
    /// </summary>
    [JsonPropertyName("instanceType")]
    [SchemaDefault("Standard_NC24ads_A100_v4", Version = KaitoGroup.V1Alpha1)]
    public string? InstanceType { get; set; }

    /// <summary>
    /// Selects the GPU nodes of the workspace; the labels are put on provisioned nodes. Only matchLabels and In
    /// expressions are used. KAITO-reserved keys (kaito.sh/workspace, kaito.sh/workspacenamespace, ...) are ignored.
    /// </summary>
    [JsonPropertyName("labelSelector")]
    [SchemaRequired]
    public V1LabelSelector? LabelSelector { get; set; }

    /// <summary>Deprecated: existing nodes to prefer. No longer read by the controller.</summary>
    [JsonPropertyName("preferredNodes")]
    public IList<string>? PreferredNodes { get; set; }

    /// <summary>GPU partitioning (MIG or accelerator) for bring-your-own nodes. Immutable.</summary>
    [JsonPropertyName("partition")]
    public PartitionSpec? Partition { get; set; }
}
