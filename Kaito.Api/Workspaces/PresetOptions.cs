using System.Text.Json.Serialization;

namespace Kaito.Api.Workspaces;

/// <summary>PresetOptions carries a private model image, its pull secrets, and the secret for gated models.</summary>
public sealed class PresetOptions
{
    /// <summary>Deprecated in v1beta1: the private model image.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; set; }

    /// <summary>Deprecated in v1beta1: pull secrets for the private model image.</summary>
    [JsonPropertyName("imagePullSecrets")]
    public IList<string>? ImagePullSecrets { get; set; }

    /// <summary>A Secret in the workspace's namespace whose HF_TOKEN key grants access to a gated model.</summary>
    [JsonPropertyName("modelAccessSecret")]
    public string? ModelAccessSecret { get; set; }
}
