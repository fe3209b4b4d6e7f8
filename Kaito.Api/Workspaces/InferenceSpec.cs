using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>InferenceSpec says what to serve: a preset model or a custom pod template, optionally with LoRA adapters.</summary>
public sealed class InferenceSpec
{
    /// <summary>The model preset to serve. Mutually exclusive with template. Immutable.</summary>
    [JsonPropertyName("preset")]
    public PresetSpec? Preset { get; set; }

    /// <summary>
    /// A custom pod template (a PodTemplateSpec) run instead of a preset; KAITO wraps it in a StatefulSet.
    /// Mutually exclusive with preset.
    /// </summary>
    [JsonPropertyName("template")]
    [PreserveUnknownFields]
    public JsonObject? Template { get; set; }

    /// <summary>The name of a ConfigMap in the workspace's namespace with the key inference_config.yaml.</summary>
    [JsonPropertyName("config")]
    public string? Config { get; set; }

    /// <summary>LoRA adapters served with the model; at most 10, with unique names.</summary>
    [JsonPropertyName("adapters")]
    [SchemaRange(Maximum = 10)]
    public IList<AdapterSpec>? Adapters { get; set; }
}
