using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>DataSource is where data comes from: URLs, an image, or a volume.</summary>
public sealed class DataSource
{
    /// <summary>The name of the data (an adapter's name; the tuning input's name is immutable).</summary>
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    /// <summary>http(s) URLs of data files, downloaded into the data volume.</summary>
    [JsonPropertyName("urls")]
    public IList<string>? Urls { get; set; }

    /// <summary>A volume (a VolumeSource) holding the data.</summary>
    [JsonPropertyName("volumeSource")]
    [PreserveUnknownFields]
    public JsonObject? VolumeSource { get; set; }

    /// <summary>An image whose /data folder holds the data.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; set; }

    /// <summary>Secrets in the workspace's namespace to pull the image with.</summary>
    [JsonPropertyName("imagePullSecrets")]
    public IList<string>? ImagePullSecrets { get; set; }
}
