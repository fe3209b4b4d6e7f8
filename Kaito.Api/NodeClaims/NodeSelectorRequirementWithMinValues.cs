using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.NodeClaims;

/// <summary>A node selector requirement, with the minimum number of distinct values Karpenter must consider.</summary>
public sealed class NodeSelectorRequirementWithMinValues
{
    /// <summary>The label key the requirement applies to.</summary>
    [JsonPropertyName("key")]
    [SchemaRequired]
    public string? Key { get; set; }

    /// <summary>The relation of the key to the values: In, NotIn, Exists, DoesNotExist, Gt, Lt.</summary>
    [JsonPropertyName("operator")]
    [SchemaRequired]
    [SchemaEnum("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")]
    public string? Operator { get; set; }

    /// <summary>The values; one for Gt and Lt, none for Exists and DoesNotExist.</summary>
    [JsonPropertyName("values")]
    public IList<string>? Values { get; set; }

    /// <summary>The minimum number of distinct values of the key Karpenter must consider.</summary>
    [JsonPropertyName("minValues")]
    [SchemaRange(Minimum = 1, Maximum = 50)]
    public int? MinValues { get; set; }
}
