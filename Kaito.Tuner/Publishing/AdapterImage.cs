using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Kaito.Oci;

namespace Kaito.Tuner.Publishing;

/// <summary>
/// The adapter as an OCI image: one gzip tar layer holding <c>data/adapter_config.json</c> and
/// <c>data/adapter_model.safetensors</c> (where KAITO's adapter puller looks), an image config whose diff_id is the
/// uncompressed tar's digest, and a manifest annotated with <c>sh.kaito.model.name</c>. Byte-for-byte reproducible
/// for the same files (fixed timestamps and ownership).
/// </summary>
public sealed class AdapterImage
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";
    public const string LayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";

    private AdapterImage(byte[] layer, byte[] config, byte[] manifest)
    {
        Layer = layer;
        Config = config;
        Manifest = manifest;
    }

    public byte[] Layer { get; }

    public byte[] Config { get; }

    public byte[] Manifest { get; }

    /// <summary>The config and the layer, as a registry push takes them.</summary>
    public IEnumerable<(OciDescriptor Blob, Func<Stream> Open)> Blobs =>
    [
        (new OciDescriptor(ConfigMediaType, Digests.Of(Config), Config.Length), () => new MemoryStream(Config, writable: false)),
        (new OciDescriptor(LayerMediaType, Digests.Of(Layer), Layer.Length), () => new MemoryStream(Layer, writable: false)),
    ];

    public static AdapterImage Build(string adapterDirectory, string modelName)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var file in new[] { Kaito.Models.ModelLayout.AdapterConfigFile, Kaito.Models.ModelLayout.AdapterWeightsFile })
            {
                var path = Path.Combine(adapterDirectory, file);
                using var data = File.OpenRead(path);
                var entry = new PaxTarEntry(TarEntryType.RegularFile, $"data/{file}")
                {
                    DataStream = data,
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                };
                writer.WriteEntry(entry);
            }
        }

        var uncompressed = tar.ToArray();
        var gzip = new MemoryStream();
        using (var compressor = new GZipStream(gzip, CompressionLevel.Optimal, leaveOpen: true))
        {
            compressor.Write(uncompressed);
        }

        var layer = gzip.ToArray();
        var config = System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Labels"] = new JsonObject { ["sh.kaito.model.name"] = modelName } },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digests.Of(uncompressed)) },
        }.ToJsonString());
        var manifest = System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestMediaType,
            ["config"] = new JsonObject { ["mediaType"] = ConfigMediaType, ["digest"] = Digests.Of(config), ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = LayerMediaType, ["digest"] = Digests.Of(layer), ["size"] = layer.Length }),
            ["annotations"] = new JsonObject { ["sh.kaito.model.name"] = modelName },
        }.ToJsonString());
        return new AdapterImage(layer, config, manifest);
    }
}
