using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.NodeClaims;

/// <summary>NodeClassReference points at a provider's node class object.</summary>
public sealed class NodeClassReference
{
    /// <summary>The API group of the node class, for example kaito.sh.</summary>
    [JsonPropertyName("group")]
    [SchemaRequired]
    public string? Group { get; set; }

    /// <summary>The kind of the node class, for example KaitoNodeClass.</summary>
    [JsonPropertyName("kind")]
    [SchemaRequired]
    public string? Kind { get; set; }

    /// <summary>The name of the node class, for example default.</summary>
    [JsonPropertyName("name")]
    [SchemaRequired]
    public string? Name { get; set; }
}
