using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.Oci;

/// <summary>A blob as a manifest names it: media type, digest, size and annotations.</summary>
public sealed record OciDescriptor(string MediaType, string Digest, long Size, IReadOnlyDictionary<string, string>? Annotations = null)
{
    /// <summary>The <c>org.opencontainers.image.title</c> annotation: the file name ORAS gives a file layer.</summary>
    public string? Title => Annotations?.GetValueOrDefault(OciManifest.TitleAnnotation);

    internal JsonObject ToJson()
    {
        var json = new JsonObject { ["mediaType"] = MediaType, ["digest"] = Digest, ["size"] = Size };
        if (Annotations is { Count: > 0 })
        {
            json["annotations"] = Annotations.OrderBy(a => a.Key, StringComparer.Ordinal).Aggregate(new JsonObject(), (o, a) => { o[a.Key] = a.Value; return o; });
        }

        return json;
    }
}

/// <summary>
/// An OCI image manifest (or Docker's schema 2 manifest, which has the same shape): config, layers, annotations and
/// OCI 1.1's artifactType. Parsing is bounded and checks every digest, so a manifest from a registry cannot name a
/// file outside the cache or a negative size.
/// </summary>
public sealed record OciManifest(OciDescriptor Config, IReadOnlyList<OciDescriptor> Layers, IReadOnlyDictionary<string, string> Annotations, string? ArtifactType = null)
{
    public const string MediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerMediaType = "application/vnd.docker.distribution.manifest.v2+json";
    public const string IndexMediaType = "application/vnd.oci.image.index.v1+json";
    public const string DockerListMediaType = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string EmptyConfigMediaType = "application/vnd.oci.empty.v1+json";
    public const string TitleAnnotation = "org.opencontainers.image.title";

    /// <summary>The largest manifest read from a registry (docker-registry's own limit is 4 MiB).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The most layers a manifest may list (a model of many shards stays far below).</summary>
    public const int MaxLayers = 4096;

    /// <summary>JSON as registries and other tools write it (no escaping of '+' in media types).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>What <c>Accept</c> says when fetching a manifest.</summary>
    public static readonly string[] AcceptedMediaTypes = [MediaType, DockerMediaType, IndexMediaType, DockerListMediaType];

    /// <summary>Parses a manifest read from <paramref name="source"/> (named in errors).</summary>
    /// <exception cref="InvalidDataException">It is not an image manifest, or names invalid digests or sizes.</exception>
    public static OciManifest Parse(ReadOnlySpan<byte> bytes, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 16 })?.AsObject() ?? throw new InvalidDataException("empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"the manifest of {source} is not JSON: {e.Message}", e);
        }

        try
        {
            if (root["schemaVersion"]?.GetValue<int>() != 2)
            {
                throw new InvalidDataException("schemaVersion is not 2");
            }

            var layers = root["layers"]?.AsArray() ?? throw new InvalidDataException("it has no layers");
            if (layers.Count > MaxLayers)
            {
                throw new InvalidDataException($"it lists {layers.Count} layers, more than {MaxLayers}");
            }

            return new OciManifest(
                Descriptor(root["config"] ?? throw new InvalidDataException("it has no config"), "config"),
                [.. layers.Select((l, i) => Descriptor(l ?? throw new InvalidDataException($"layers[{i}] is null"), $"layers[{i}]"))],
                Strings(root["annotations"], "annotations"),
                root["artifactType"]?.GetValue<string>());
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"the manifest of {source} is not a valid image manifest: {e.Message}", e);
        }
    }

    /// <summary>From an image index, the manifest digest for linux/amd64 (or the only one), or null when none fits.</summary>
    public static string? SelectFromIndex(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            var manifests = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 16 })?["manifests"]?.AsArray() ?? [];
            var chosen = manifests.Count == 1 ? manifests[0] : manifests.FirstOrDefault(m =>
                m?["platform"]?["os"]?.GetValue<string>() == "linux" && m["platform"]?["architecture"]?.GetValue<string>() == "amd64");
            var digest = chosen?["digest"]?.GetValue<string>();
            return Digests.IsValid(digest) ? digest : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"the image index of {source} is not valid: {e.Message}", e);
        }
    }

    /// <summary>The manifest's canonical JSON (annotations in key order, so the same image has the same digest).</summary>
    public byte[] ToJson()
    {
        var json = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaType };
        if (ArtifactType is not null)
        {
            json["artifactType"] = ArtifactType;
        }

        json["config"] = Config.ToJson();
        json["layers"] = new JsonArray([.. Layers.Select(l => (JsonNode)l.ToJson())]);
        if (Annotations.Count > 0)
        {
            json["annotations"] = Annotations.OrderBy(a => a.Key, StringComparer.Ordinal).Aggregate(new JsonObject(), (o, a) => { o[a.Key] = a.Value; return o; });
        }

        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(JsonOptions));
    }

    private static OciDescriptor Descriptor(JsonNode node, string path)
    {
        var digest = node["digest"]?.GetValue<string>();
        if (!Digests.IsValid(digest))
        {
            throw new InvalidDataException($"{path}.digest '{digest}' is not sha256:<64 hex digits>");
        }

        var size = node["size"]?.GetValue<long>() ?? throw new InvalidDataException($"{path}.size is missing");
        if (size < 0)
        {
            throw new InvalidDataException($"{path}.size is negative");
        }

        return new OciDescriptor(node["mediaType"]?.GetValue<string>() ?? "", digest!, size, Strings(node["annotations"], $"{path}.annotations"));
    }

    private static Dictionary<string, string> Strings(JsonNode? node, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null)
        {
            return result;
        }

        foreach (var (key, value) in node.AsObject())
        {
            result[key] = value?.GetValue<string>() ?? throw new InvalidDataException($"{path}.{key} is null");
        }

        return result;
    }
}
