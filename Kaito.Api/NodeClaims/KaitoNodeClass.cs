using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.NodeClaims;

/// <summary>
/// KaitoNodeClass is the node class the provisioner claims: NodeClaims that reference another class are left to
/// other provisioners. It carries no settings. Cluster scoped.
/// </summary>
[KubernetesEntity(Group = KaitoGroup.Name, ApiVersion = KaitoGroup.V1Alpha1, Kind = KindName, PluralName = Plural)]
public sealed class KaitoNodeClass : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The kind.</summary>
    public const string KindName = "KaitoNodeClass";

    /// <summary>The resource's plural name.</summary>
    public const string Plural = "kaitonodeclasses";

    /// <summary>The name of the node class KAITO's NodeClaims reference.</summary>
    public const string DefaultName = "default";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KaitoGroup.Name}/{KaitoGroup.V1Alpha1}";

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    /// <summary>Standard object metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>Empty; reserved for future settings.</summary>
    [JsonPropertyName("spec")]
    [PreserveUnknownFields]
    public JsonObject? Spec { get; set; }

    /// <summary>Empty; reserved for future status.</summary>
    [JsonPropertyName("status")]
    [PreserveUnknownFields]
    public JsonObject? Status { get; set; }
}
