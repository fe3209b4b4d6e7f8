namespace Kaito.ServiceDefaults;

/// <summary>
/// Files and folders that hold secrets (tokens, keys, a cluster's objects): created readable by their owner only, as
/// kubectl writes kubeconfigs, and written whole — to a temporary name, flushed to disk, then renamed — so a crash never
/// leaves half a file where a whole one was.
/// </summary>
public static class OwnerOnlyFile
{
    private const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Folder = File | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="path"/> (and its parents) if needed and makes it the owner's only (0700).</summary>
    public static DirectoryInfo CreateDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            directory.UnixFileMode = Folder;
        }

        return directory;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> with mode 0600, durably and atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var temporary = path + ".tmp";
        System.IO.File.Delete(temporary); // the mode applies to files it creates, not to one left by a crash
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = File;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        System.IO.File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 with mode 0600, durably and atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text ?? throw new ArgumentNullException(nameof(text))));
}
