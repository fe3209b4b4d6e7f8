using System.Formats.Tar;
using System.IO.Compression;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// Applies an OCI image layer (a tar, gzip-compressed or not) to a root file system folder, as containerd's applier
/// does: whiteouts (<c>.wh.&lt;name&gt;</c> deletes what lower layers had, <c>.wh..wh..opq</c> empties a folder of
/// them), files, folders, symbolic and hard links with their modes and, when LocalCluster is root, their owners.
/// The bytes are untrusted: every path is resolved inside the root — symbolic links are followed as if the root were
/// <c>/</c>, never out of it, and <c>..</c> cannot climb above it — and a layer may unpack at most
/// <see cref="Limits.MaxBytes"/> in at most <see cref="Limits.MaxEntries"/> entries. Devices and FIFOs are skipped.
/// </summary>
public static class LayerArchive
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const int MaxLinkHops = 40;

    /// <summary>What one image may unpack to (all layers together).</summary>
    public sealed record Limits(long MaxBytes, long MaxEntries)
    {
        public long Bytes { get; set; }

        public long Entries { get; set; }
    }

    /// <summary>Applies the layer in <paramref name="layer"/> (gzip when <paramref name="gzip"/>) onto <paramref name="root"/>.</summary>
    /// <exception cref="InvalidDataException">The layer is not a tar, escapes the root, or is over the limits (naming the entry).</exception>
    public static void Apply(Stream layer, bool gzip, string root, Limits limits, string source)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(limits);
        root = Path.GetFullPath(root);
        using var input = gzip ? new GZipStream(layer, CompressionMode.Decompress, leaveOpen: true) : layer;
        using var reader = new TarReader(input, leaveOpen: true);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var hardLinks = new List<(string Path, string Target, TarEntry Entry)>();
        TarEntry? entry;
        try
        {
            while ((entry = reader.GetNextEntry()) is not null)
            {
                if (++limits.Entries > limits.MaxEntries)
                {
                    throw new InvalidDataException($"{source}: more than {limits.MaxEntries} entries");
                }

                limits.Bytes += Math.Max(0, entry.Length);
                if (limits.Bytes > limits.MaxBytes)
                {
                    throw new InvalidDataException($"{source}: unpacks to more than {limits.MaxBytes} bytes (at '{entry.Name}')");
                }

                ApplyEntry(entry, root, written, hardLinks, source);
            }
        }
        catch (Exception e) when (e is FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{source} is not a valid tar layer: {e.Message}", e);
        }

        foreach (var (path, target, link) in hardLinks)
        {
            var resolved = Resolve(root, target, followLast: false, source);
            if (!File.Exists(resolved))
            {
                throw new InvalidDataException($"{source}: hard link '{path}' names '{target}', which the image does not have");
            }

            var at = Resolve(root, path, followLast: false, source);
            Remove(at);
            Native.Link(resolved, at);
            Own(at, link, isLink: false);
        }
    }

    private static void ApplyEntry(TarEntry entry, string root, HashSet<string> written, List<(string, string, TarEntry)> hardLinks, string source)
    {
        var name = Normalize(entry.Name, source);
        if (name.Length == 0)
        {
            return; // the layer's "./"
        }

        var directory = Path.GetDirectoryName(name) ?? "";
        var file = Path.GetFileName(name);
        if (file == OpaqueWhiteout)
        {
            // Everything the lower layers had in the folder goes; what this layer already wrote there stays.
            var folder = Resolve(root, directory, followLast: true, source);
            if (Directory.Exists(folder))
            {
                foreach (var child in Directory.EnumerateFileSystemEntries(folder))
                {
                    if (!written.Contains(Path.Join(directory, Path.GetFileName(child))))
                    {
                        Remove(child);
                    }
                }
            }

            return;
        }

        if (file.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            Remove(Resolve(root, Path.Join(directory, file[WhiteoutPrefix.Length..]), followLast: false, source));
            return;
        }

        written.Add(name);
        var path = Resolve(root, name, followLast: false, source);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!Directory.Exists(path) || File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
                {
                    Remove(path);
                    Directory.CreateDirectory(path);
                }

                SetMode(path, entry);
                Own(path, entry, isLink: false);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                Remove(path);
                using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    entry.DataStream?.CopyTo(output);
                }

                SetMode(path, entry);
                Own(path, entry, isLink: false);
                break;
            case TarEntryType.SymbolicLink:
                Remove(path);
                File.CreateSymbolicLink(path, entry.LinkName);
                Own(path, entry, isLink: true);
                break;
            case TarEntryType.HardLink:
                // Made once every file of the layer is in place: the target may come later in the stream.
                hardLinks.Add((name, Normalize(entry.LinkName, source), entry));
                break;
            default:
                break; // devices, FIFOs: nothing a container here needs (it gets its own /dev)
        }
    }

    /// <summary>The entry name relative to the root: no leading <c>./</c> or <c>/</c>, no <c>..</c>.</summary>
    private static string Normalize(string name, string source)
    {
        var parts = new List<string>();
        foreach (var part in name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw new InvalidDataException($"{source}: entry '{name}' climbs out of the image with '..'");
            }

            if (part.Contains('\0', StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{source}: entry name has a NUL byte");
            }

            parts.Add(part);
        }

        return string.Join('/', parts);
    }

    /// <summary>
    /// The host path of <paramref name="relative"/> inside <paramref name="root"/>, following symbolic links on the way
    /// as the container would see them (an absolute target starts again at the root; <c>..</c> stops at it), and the
    /// last component too when <paramref name="followLast"/>. Creates missing parent folders when <paramref name="create"/>.
    /// </summary>
    internal static string Resolve(string root, string relative, bool followLast, string source, bool create = true)
    {
        var pending = new Stack<string>(relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = new List<string>();
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (current.Count > 0)
                {
                    current.RemoveAt(current.Count - 1);
                }

                continue;
            }

            var candidate = Path.Join(root, string.Join('/', current), part);
            var isLast = pending.Count == 0;
            var info = new FileInfo(candidate);
            if (info.Exists || Directory.Exists(candidate) || info.LinkTarget is not null)
            {
                if (info.LinkTarget is { } target && (!isLast || followLast))
                {
                    if (++hops > MaxLinkHops)
                    {
                        throw new InvalidDataException($"{source}: too many symbolic links resolving '{relative}'");
                    }

                    if (target.StartsWith('/'))
                    {
                        current.Clear();
                    }

                    foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                    {
                        pending.Push(next);
                    }

                    continue;
                }
            }
            else if (!isLast && create)
            {
                Directory.CreateDirectory(candidate);
            }

            current.Add(part);
        }

        return current.Count == 0 ? root : Path.Join(root, string.Join('/', current));
    }

    private static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || info.Exists)
        {
            info.Delete();
        }
        else if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static void SetMode(string path, TarEntry entry)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)((int)entry.Mode & 0xFFF));
        }
    }

    private static void Own(string path, TarEntry entry, bool isLink)
    {
        if (Native.IsRoot)
        {
            Native.ChangeOwner(path, entry.Uid, entry.Gid, followLink: !isLink);
        }
    }
}
