using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Kaito.Api.NodeClaims;

/// <summary>
/// NodeClaim is Karpenter's request for one node: the workspace controller creates one per missing GPU node and the
/// provisioner turns it into capacity (an AKS agent pool, an existing node, a simulated node). Cluster scoped.
/// </summary>
[KubernetesEntity(Group = KaitoGroup.Karpenter, ApiVersion = KaitoGroup.KarpenterV1, Kind = KindName, PluralName = Plural)]
public sealed class NodeClaim : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The kind.</summary>
    public const string KindName = "NodeClaim";

    /// <summary>The resource's plural name.</summary>
    public const string Plural = "nodeclaims";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KaitoGroup.Karpenter}/{KaitoGroup.KarpenterV1}";

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    /// <summary>Standard object metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The desired node.</summary>
    [JsonPropertyName("spec")]
    public NodeClaimSpec? Spec { get; set; }

    /// <summary>The observed node.</summary>
    [JsonPropertyName("status")]
    public NodeClaimStatus? Status { get; set; }
}
