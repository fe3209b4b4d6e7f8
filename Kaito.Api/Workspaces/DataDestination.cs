using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>DataDestination is where a tuning job's adapter goes: an image or a volume.</summary>
public sealed class DataDestination
{
    /// <summary>A volume (a VolumeSource) to write the adapter to.</summary>
    [JsonPropertyName("volumeSource")]
    [PreserveUnknownFields]
    public JsonObject? VolumeSource { get; set; }

    /// <summary>The image reference to push the adapter to.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; set; }

    /// <summary>A docker-registry Secret in the workspace's namespace with push credentials for image.</summary>
    [JsonPropertyName("imagePushSecret")]
    public string? ImagePushSecret { get; set; }
}
