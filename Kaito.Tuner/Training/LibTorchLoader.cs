using System.Buffers.Binary;
using System.Text;

namespace Kaito.Tuner.Training;

/// <summary>
/// Makes TorchSharp's native bridge loadable on Debian 12. <c>libLibTorchSharp.so</c> asks for
/// <c>GLIBCXX_3.4.32</c>, which Debian 12's libstdc++ (3.4.30) lacks; the one symbol bound to it is a link-time
/// marker that is never called. Marking that version requirement weak (<c>VER_FLG_WEAK</c> on its Vernaux entry in
/// the ELF <c>.gnu.version_r</c> section) lets the dynamic loader accept the library; on systems that have the version
/// nothing changes. Runs before the first TorchSharp call; idempotent.
/// </summary>
public static class LibTorchLoader
{
    public const string BridgeLibrary = "libLibTorchSharp.so";
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const uint VersionNeedSection = 0x6ffffffe;
    private const ushort WeakFlag = 0x2;

    private static readonly Lock Gate = new();
    private static bool s_prepared;

    /// <summary>Patches the bridge beside the application if needed; returns what it did, for the log.</summary>
    public static string Prepare()
    {
        lock (Gate)
        {
            if (s_prepared || !OperatingSystem.IsLinux())
            {
                s_prepared = true;
                return "no native patch needed";
            }

            var path = Path.Combine(AppContext.BaseDirectory, BridgeLibrary);
            if (!File.Exists(path))
            {
                path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", BridgeLibrary);
            }

            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{BridgeLibrary} is not beside the tuner; was it built for linux-x64 with TorchSharp-cpu?", path);
            }

            var result = MarkVersionWeak(path, MissingVersion);
            s_prepared = true;
            return result;
        }
    }

    /// <summary>Sets VER_FLG_WEAK on every requirement of <paramref name="version"/> in an ELF64 little-endian file.</summary>
    public static string MarkVersionWeak(string path, string version)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7F || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F' || bytes[4] != 2 || bytes[5] != 1)
        {
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file.");
        }

        var sectionsAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0x28));
        var sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3A));
        var sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3C));
        (long Offset, uint Link, uint Info) Section(int index)
        {
            var header = bytes.AsSpan((int)(sectionsAt + (index * sectionSize)));
            return ((long)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]), BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]));
        }

        var patched = 0;
        var alreadyWeak = 0;
        for (var s = 0; s < sectionCount; s++)
        {
            var header = bytes.AsSpan((int)(sectionsAt + (s * sectionSize)));
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != VersionNeedSection)
            {
                continue;
            }

            var (offset, link, count) = Section(s);
            var strings = Section((int)link).Offset;
            var need = offset;
            for (var n = 0; n < count; n++)
            {
                var auxCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)need + 2));
                var aux = need + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)need + 8));
                for (var a = 0; a < auxCount; a++)
                {
                    var nameAt = strings + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)aux + 8));
                    var end = Array.IndexOf(bytes, (byte)0, (int)nameAt);
                    if (Encoding.ASCII.GetString(bytes, (int)nameAt, end - (int)nameAt) == version)
                    {
                        var flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)aux + 4));
                        if ((flags & WeakFlag) != 0)
                        {
                            alreadyWeak++;
                        }
                        else
                        {
                            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)aux + 4), (ushort)(flags | WeakFlag));
                            patched++;
                        }
                    }

                    aux += BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)aux + 12));
                }

                need += BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)need + 12));
            }
        }

        if (patched == 0)
        {
            return alreadyWeak > 0 ? $"{version} requirement of {Path.GetFileName(path)} already weak" : $"{Path.GetFileName(path)} does not require {version}";
        }

        try
        {
            // Several tuners may start at once on a fresh build: each writes its own copy and renames it over the
            // original. Renames are atomic and every copy is the same, so whoever wins, the file is whole.
            var temporary = $"{path}.patching-{Environment.ProcessId}-{Guid.NewGuid():N}";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(
                $"{path} needs its {version} requirement marked weak to load on this system, but the file is read-only; " +
                "run the tuner once where it can write, or use a base image with a newer libstdc++ (Debian 13).", e);
        }

        return $"marked {version} weak in {Path.GetFileName(path)} ({patched} reference(s))";
    }
}
