using System.Text.Json.Serialization;

namespace Kaito.Api.Workspaces;

/// <summary>One benchmark measurement and the settings it was taken with.</summary>
public sealed class PerformanceMetric
{
    /// <summary>What was measured, for example stress/high-concurrency.</summary>
    [JsonPropertyName("description")]
    public string? Description { get; set; }

    /// <summary>The measured value, as a decimal string.</summary>
    [JsonPropertyName("value")]
    public string? Value { get; set; }

    /// <summary>The unit, for example tokens/min.</summary>
    [JsonPropertyName("unit")]
    public string? Unit { get; set; }

    /// <summary>The benchmark's settings: duration, input and output tokens, concurrency, engine.</summary>
    [JsonPropertyName("config")]
    public IDictionary<string, string>? Config { get; set; }
}
