using System.Text.Json.Serialization;

namespace Kaito.Api.Workspaces;

/// <summary>PerformanceStatus holds what the post-load benchmark measured.</summary>
public sealed class PerformanceStatus
{
    /// <summary>Measurements by name, for example peakTokensPerMinute.</summary>
    [JsonPropertyName("metrics")]
    public IDictionary<string, PerformanceMetric>? Metrics { get; set; }
}
