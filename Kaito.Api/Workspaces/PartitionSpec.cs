using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>PartitionSpec selects a slice of a GPU (MIG) or an accelerator partition on bring-your-own nodes.</summary>
public sealed class PartitionSpec
{
    /// <summary>The partitioning mode: mig or accelerator.</summary>
    [JsonPropertyName("mode")]
    [SchemaRequired]
    [SchemaEnum("mig", "accelerator")]
    public string? Mode { get; set; }

    /// <summary>The partition profile, for example 1g.10gb.</summary>
    [JsonPropertyName("profile")]
    public string? Profile { get; set; }

    /// <summary>How many partitions each pod uses.</summary>
    [JsonPropertyName("count")]
    [SchemaRange(Minimum = 1)]
    public int? Count { get; set; }
}
