using System.Text.Json.Serialization;
using k8s.Models;

namespace Kaito.Api.NodeClaims;

/// <summary>NodeClaimStatus is the observed state of the node.</summary>
public sealed class NodeClaimStatus
{
    /// <summary>The name of the Node that joined for this claim.</summary>
    [JsonPropertyName("nodeName")]
    public string? NodeName { get; set; }

    /// <summary>The cloud provider's identifier of the node.</summary>
    [JsonPropertyName("providerID")]
    public string? ProviderId { get; set; }

    /// <summary>The image the node booted from.</summary>
    [JsonPropertyName("imageID")]
    public string? ImageId { get; set; }

    /// <summary>The node's total resources.</summary>
    [JsonPropertyName("capacity")]
    public IDictionary<string, ResourceQuantity>? Capacity { get; set; }

    /// <summary>The node's resources available to pods.</summary>
    [JsonPropertyName("allocatable")]
    public IDictionary<string, ResourceQuantity>? Allocatable { get; set; }

    /// <summary>Launched, Registered, Initialized and Ready.</summary>
    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }

    /// <summary>The last time a pod was scheduled to or removed from the node.</summary>
    [JsonPropertyName("lastPodEventTime")]
    public DateTime? LastPodEventTime { get; set; }
}
