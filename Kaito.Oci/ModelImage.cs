using System.Text.Json.Nodes;

namespace Kaito.Oci;

/// <summary>What a model image says about its model (manifest annotations).</summary>
public sealed record ModelImageInfo(string Name, string? Revision, string Precision, string Format);

/// <summary>
/// KAITO's model images: an ORAS artifact (what <c>oras pull &lt;registry&gt;/kaito-&lt;preset&gt;:&lt;tag&gt; -o
/// /workspace/weights</c> restores — KAITO's pkg/workspace/tuning/preset_tuning.go), one layer per file with its
/// relative path in <c>org.opencontainers.image.title</c>, the Hugging Face files at the root (config, tokenizer,
/// safetensors) and, when packed with a precision, the ONNX GenAI export under <c>onnx/&lt;provider&gt;-&lt;precision&gt;/</c>
/// so the server does not export at start. The manifest's annotations name model, revision, precision and format.
/// </summary>
public static class ModelImage
{
    public const string ArtifactType = "application/vnd.kaito.model.v1";

    /// <summary>ORAS's media type for a file layer (the raw file, not a tar).</summary>
    public const string FileMediaType = "application/vnd.oci.image.layer.v1.tar";

    public const string NameAnnotation = "sh.kaito.model.name";
    public const string RevisionAnnotation = "sh.kaito.model.revision";
    public const string PrecisionAnnotation = "sh.kaito.model.precision";
    public const string FormatAnnotation = "sh.kaito.model.format";

    /// <summary>An image config: its labels repeat the annotations, so that <c>skopeo inspect</c> (which refuses artifacts with OCI's empty config) shows them.</summary>
    public const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";

    /// <summary>The image's repository for a preset, as KAITO names them: <c>kaito-&lt;preset&gt;</c>.</summary>
    public static string Repository(string preset) => $"kaito-{preset.ToLowerInvariant()}";

    /// <summary>
    /// The manifest and the files of <paramref name="folder"/> (recursively, in path order; hidden files and folders such
    /// as <c>.git</c> left out), plus those of each <paramref name="extra"/> folder under its prefix (a converted form),
    /// each file read once to digest it.
    /// </summary>
    public static (OciManifest Manifest, byte[] Config, IReadOnlyList<(OciDescriptor Blob, string Path)> Files) Pack(string folder, ModelImageInfo info,
        IReadOnlyList<(string Folder, string Prefix)>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        var files = new[] { (Folder: folder, Prefix: "") }.Concat(extra ?? [])
            .SelectMany(source => Files(source.Folder, source.Prefix))
            .OrderBy(f => f.Title, StringComparer.Ordinal)
            .Select(f => (Blob: new OciDescriptor(FileMediaType, Digests.OfFile(f.Path), new FileInfo(f.Path).Length,
                new Dictionary<string, string> { [OciManifest.TitleAnnotation] = f.Title }), f.Path))
            .ToList();
        if (files.GroupBy(f => f.Blob.Title).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidDataException($"model folder {folder} already has {twice.Key}, which the converted form would add again");
        }

        if (files.Count == 0)
        {
            throw new InvalidDataException($"model folder {folder} has no files");
        }

        var annotations = new Dictionary<string, string>
        {
            [NameAnnotation] = info.Name,
            [PrecisionAnnotation] = info.Precision,
            [FormatAnnotation] = info.Format,
            [OciManifest.TitleAnnotation] = info.Name,
        };
        if (info.Revision is { Length: > 0 } revision)
        {
            annotations[RevisionAnnotation] = revision;
        }

        // The layers' media type says uncompressed tar (ORAS's file default), so each diff_id is the layer's digest.
        var config = System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Labels"] = new JsonObject([.. annotations.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]) },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. files.Select(f => (JsonNode)f.Blob.Digest)]) },
        }.ToJsonString(OciManifest.JsonOptions));
        var configBlob = new OciDescriptor(ConfigMediaType, Digests.Of(config), config.Length);
        return (new OciManifest(configBlob, [.. files.Select(f => f.Blob)], annotations, ArtifactType), config, files);
    }

    private static IEnumerable<(string Path, string Title)> Files(string folder, string prefix)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"model folder {folder} does not exist");
        }

        var root = Path.GetFullPath(folder);
        return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false })
            .Select(path => (Path: path, Title: Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => !f.Title.Split('/').Any(part => part.StartsWith('.')))
            .Select(f => (f.Path, Title: prefix.Length == 0 ? f.Title : $"{prefix}/{f.Title}"));
    }

    /// <summary>
    /// Where a layer titled <paramref name="title"/> goes under <paramref name="target"/>; refuses a title that is empty,
    /// absolute, or climbs out (<c>..</c>), so an image cannot write outside the weights folder.
    /// </summary>
    public static string FilePath(string target, string? title)
    {
        if (string.IsNullOrWhiteSpace(title) || title.StartsWith('/') || title.Contains('\\', StringComparison.Ordinal) || title.Contains('\0', StringComparison.Ordinal)
            || title.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new InvalidDataException($"layer title '{title}' is not a relative file path");
        }

        var root = Path.GetFullPath(target);
        var path = Path.GetFullPath(Path.Combine(root, title));
        return path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new InvalidDataException($"layer title '{title}' points outside {target}");
    }
}
