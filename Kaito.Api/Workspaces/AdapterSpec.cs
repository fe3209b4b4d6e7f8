using System.Text.Json.Serialization;

namespace Kaito.Api.Workspaces;

/// <summary>AdapterSpec is a LoRA adapter served with the model.</summary>
public sealed class AdapterSpec
{
    /// <summary>Where the adapter comes from: a name and an image or a volume.</summary>
    [JsonPropertyName("source")]
    public DataSource? Source { get; set; }

    /// <summary>The adapter's weight, a decimal in [0, 1] written as a string (transformers runtime only).</summary>
    [JsonPropertyName("strength")]
    public string? Strength { get; set; }
}
