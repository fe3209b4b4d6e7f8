using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>PresetSpec names a model from the preset catalog.</summary>
public sealed class PresetSpec
{
    /// <summary>The preset name (for example phi-4-mini-instruct) or a Hugging Face model id (org/model).</summary>
    [JsonPropertyName("name")]
    [SchemaRequired]
    public string? Name { get; set; }

    /// <summary>Deprecated in v1beta1: public, or private with presetOptions.image.</summary>
    [JsonPropertyName("accessMode")]
    [SchemaEnum("public", "private")]
    public string? AccessMode { get; set; }

    /// <summary>Options for the preset: private image, pull secrets, model access secret.</summary>
    [JsonPropertyName("presetOptions")]
    public PresetOptions? PresetOptions { get; set; }
}
