using System.Text.Json.Serialization;

namespace Kaito.Api.Workspaces;

/// <summary>TuningSpec says which model to fine-tune, how, on what data, and where the adapter goes.</summary>
public sealed class TuningSpec
{
    /// <summary>The model preset to tune. Required. Immutable.</summary>
    [JsonPropertyName("preset")]
    public PresetSpec? Preset { get; set; }

    /// <summary>The tuning method: lora or qlora (case-insensitive). Immutable.</summary>
    [JsonPropertyName("method")]
    public string? Method { get; set; }

    /// <summary>
    /// The name of a ConfigMap in the workspace's namespace with the key training_config.yaml; the default lora or
    /// qlora template when empty.
    /// </summary>
    [JsonPropertyName("config")]
    public string? Config { get; set; }

    /// <summary>The training data: exactly one of urls, image or volumeSource.</summary>
    [JsonPropertyName("input")]
    public DataSource? Input { get; set; }

    /// <summary>Where the adapter goes: exactly one of image (with imagePushSecret) or volumeSource.</summary>
    [JsonPropertyName("output")]
    public DataDestination? Output { get; set; }
}
