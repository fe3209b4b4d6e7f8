using Kaito.Oci;

namespace Kaito.ModelPuller;

/// <summary>The pod's weights folder and the node's blob cache, shared by the image and Hub pulls.</summary>
public static partial class WeightsFolder
{
    /// <summary>The file in the target naming what it holds (<c>sha256:…</c> of an image, <c>hf:&lt;repo&gt;@&lt;commit&gt;</c>).</summary>
    public const string MarkerFile = ".kaito-model-image";

    /// <summary>Whether the target already holds <paramref name="source"/> with every file at its size (a restarted pod).</summary>
    public static async Task<bool> HoldsAsync(string target, string source, IEnumerable<(string Path, long Size)> files, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(target, MarkerFile);
        return File.Exists(marker) && (await File.ReadAllTextAsync(marker, cancellationToken)).Trim() == source
            && files.All(f => new FileInfo(f.Path) is { Exists: true } info && info.Length == f.Size);
    }

    /// <summary>Records that the target holds <paramref name="source"/> (atomically, last: a pull cut short has no marker).</summary>
    public static async Task MarkAsync(string target, string source, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(target, MarkerFile);
        await File.WriteAllTextAsync(marker + ".tmp", source, cancellationToken);
        File.Move(marker + ".tmp", marker, overwrite: true);
    }

    /// <summary>The node's cache, or null (pull without one) when none is given or this user cannot write it — a node folder not prepared for the pods' user.</summary>
    public static BlobCache? NodeCache(string? root, ILogger logger)
    {
        if (string.IsNullOrWhiteSpace(root))
        {
            return null;
        }

        try
        {
            var cache = new BlobCache(root);
            var probe = Path.Combine(root, "partial", $".probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return cache;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCacheUnusable(logger, root, e.Message);
            return null;
        }
    }

    /// <summary>A verified file as the target file: a hard link (same file system) or a copy, read-only either way.</summary>
    public static void Restore(string blob, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the model puller runs on Linux nodes");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.SetUnixFileMode(blob, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Delete(path);
        if (!Native.TryHardLink(blob, path))
        {
            File.Copy(blob, path);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The node cache {Cache} cannot be used ({Reason}); pulling without it")]
    private static partial void LogCacheUnusable(ILogger logger, string cache, string reason);
}
