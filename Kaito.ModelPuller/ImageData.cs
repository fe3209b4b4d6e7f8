using System.Formats.Tar;
using System.IO.Compression;
using Kaito.Oci;

namespace Kaito.ModelPuller;

/// <summary>
/// The <c>/data</c> folder of a container image's file-system layers — where KAITO's adapter images (the tuner's push)
/// and dataset images keep their files, as KAITO's skopeo-and-tar puller extracts it — written into a target folder.
/// Only regular files and folders under <c>data/</c> are taken; links, devices and paths that would climb out are
/// refused, and the total is bounded.
/// </summary>
public static class ImageData
{
    public const string Folder = "data/";

    /// <summary>The most bytes an image's <c>/data</c> may hold (adapters are megabytes, datasets gigabytes).</summary>
    public const long MaxBytes = 256L * 1024 * 1024 * 1024;

    public const int MaxEntries = 1_000_000;

    private static readonly string[] s_gzip = ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"];
    private static readonly string[] s_tar = ["application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"];

    /// <summary>Whether <paramref name="layer"/> is a file-system layer this reads (gzip or plain tar).</summary>
    public static bool IsFileSystemLayer(OciDescriptor layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return layer.Title is null && (s_gzip.Contains(layer.MediaType) || s_tar.Contains(layer.MediaType));
    }

    /// <summary>Extracts the layer's <c>data/</c> entries into <paramref name="target"/>; returns how many files and bytes.</summary>
    public static (int Files, long Bytes) Extract(string blob, OciDescriptor layer, string target, long budget)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var file = File.OpenRead(blob);
        using Stream stream = s_gzip.Contains(layer.MediaType) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new TarReader(stream);
        var (files, bytes, entries) = (0, 0L, 0);
        while (reader.GetNextEntry() is { } entry)
        {
            if (++entries > MaxEntries)
            {
                throw new InvalidDataException($"layer {layer.Digest} has more than {MaxEntries} entries");
            }

            var name = entry.Name.Replace('\\', '/').TrimStart('.', '/');
            if (!name.StartsWith(Folder, StringComparison.Ordinal) || name.Length == Folder.Length)
            {
                continue;
            }

            var relative = name[Folder.Length..].TrimEnd('/');
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(ModelImage.FilePath(target, relative));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    bytes += entry.Length;
                    if (bytes > budget)
                    {
                        throw new InvalidDataException($"the image's /data holds more than {budget} bytes");
                    }

                    var path = ModelImage.FilePath(target, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                    {
                        entry.DataStream?.CopyTo(output);
                    }

                    files++;
                    break;
                default:
                    throw new InvalidDataException($"layer {layer.Digest} has {entry.EntryType} entry data/{relative}; only files and folders are taken from /data");
            }
        }

        return (files, bytes);
    }
}
