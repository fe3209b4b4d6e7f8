using System.Text.Json.Serialization;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.NodeClaims;

/// <summary>NodeClaimSpec describes the node to launch.</summary>
public sealed class NodeClaimSpec
{
    /// <summary>The provider-specific node class; KAITO uses kaito.sh/KaitoNodeClass "default".</summary>
    [JsonPropertyName("nodeClassRef")]
    [SchemaRequired]
    public NodeClassReference? NodeClassRef { get; set; }

    /// <summary>Requirements the node must satisfy (instance type, operating system, node pool).</summary>
    [JsonPropertyName("requirements")]
    [SchemaRequired]
    public IList<NodeSelectorRequirementWithMinValues>? Requirements { get; set; }

    /// <summary>Taints put on the node for its lifetime.</summary>
    [JsonPropertyName("taints")]
    public IList<V1Taint>? Taints { get; set; }

    /// <summary>Taints put on the node at start and removed by a daemon once it is initialised.</summary>
    [JsonPropertyName("startupTaints")]
    public IList<V1Taint>? StartupTaints { get; set; }

    /// <summary>The minimum resources the node must have; storage sizes the OS disk.</summary>
    [JsonPropertyName("resources")]
    public NodeClaimResources? Resources { get; set; }
}
