using System.Text.Json.Serialization;
using k8s.Models;

namespace Kaito.Api.NodeClaims;

/// <summary>The resources a NodeClaim requests.</summary>
public sealed class NodeClaimResources
{
    /// <summary>Minimum resources, for example storage: 87Gi.</summary>
    [JsonPropertyName("requests")]
    public IDictionary<string, ResourceQuantity>? Requests { get; set; }
}
