using System.Runtime.InteropServices;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>The few libc calls the process runtime needs: signals to a container's process group, who we are, and links and owners of unpacked image files.</summary>
internal static partial class Native
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to every process of the group led by <paramref name="leader"/>; false when none is left.</summary>
    public static bool SignalGroup(int leader, int signal) => leader > 1 && kill(-leader, signal) == 0;

    /// <summary>Whether any process of the group led by <paramref name="leader"/> is still alive.</summary>
    public static bool GroupAlive(int leader) => leader > 1 && kill(-leader, 0) == 0;

    public static bool IsRoot => geteuid() == 0;

    /// <summary>A process' start time in clock ticks since boot (/proc/&lt;pid&gt;/stat, field 22), which tells a reused pid apart; null when it is gone.</summary>
    public static string? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>rename(2): replaces <paramref name="to"/> atomically, whatever either is (here: a symlink to a folder).</summary>
    public static void Rename(string from, string to)
    {
        if (rename(from, to) != 0)
        {
            throw new IOException($"rename {from} to {to} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>link(2): a hard link at <paramref name="to"/> to the file <paramref name="from"/>.</summary>
    public static void Link(string from, string to)
    {
        if (link(from, to) != 0)
        {
            throw new IOException($"link {to} to {from} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>chown(2), or lchown(2) for a symbolic link itself.</summary>
    public static void ChangeOwner(string path, int uid, int gid, bool followLink)
    {
        if ((followLink ? chown(path, uid, gid) : lchown(path, uid, gid)) != 0)
        {
            throw new IOException($"chown {path} to {uid}:{gid} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, int uid, int gid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int uid, int gid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rename(string from, string to);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
