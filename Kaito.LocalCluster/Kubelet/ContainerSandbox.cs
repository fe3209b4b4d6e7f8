using System.Text;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>One path a container sees: a host folder or file bound at <paramref name="Target"/>.</summary>
public sealed record SandboxMount(string Source, string Target, bool ReadOnly);

/// <summary>
/// A container's root from its image: the unpacked image (<paramref name="Lower"/>, shared) under an overlay whose
/// writable layer is the container's own (<paramref name="Upper"/>, with overlayfs' <paramref name="Work"/> folder),
/// read-only when the container asks (<c>readOnlyRootFilesystem</c>), and the user and group it runs as.
/// </summary>
public sealed record ImageRoot(string Lower, string Upper, string Work, bool ReadOnly, long? User, long? Group);

/// <summary>
/// The file system a container sees, made the way bubblewrap makes one, with util-linux's <c>unshare</c>: in a private
/// mount namespace (and a user namespace mapping the caller to root when LocalCluster is not root), a tmpfs becomes
/// the new root; the host's top-level folders are bound into it — except <c>/dev</c> (a minimal one), <c>/proc</c>,
/// <c>/sys</c>, <c>/tmp</c> (the container's own, a mount like any other) and any folder a mount lands in, which is rebuilt from the host's
/// entries around the mount point, so no folder is ever created on the host — then every mount is bound at its path and
/// the command runs chrooted there. No path is rewritten: the process sees its volumes exactly where the pod spec says.
/// A container of a pulled image gets the image's file system instead of the host's (<see cref="ImageRoot"/>): mount
/// targets resolve through the image's own links, and util-linux's <c>unshare --root --wd --setuid --setgid</c> starts
/// the command there as its user, so the image needs no shell.
/// </summary>
public static class ContainerSandbox
{
    private static readonly string[] s_devices = ["null", "zero", "full", "random", "urandom", "tty"];

    /// <summary>
    /// The argv that runs <paramref name="argv"/> in the sandbox; its first element is the program to start. The file
    /// <paramref name="startedFile"/> is created once the sandbox is built, just before the command starts: until then
    /// the container is not running (nothing may exec into a half-built root).
    /// </summary>
    public static IReadOnlyList<string> Command(string rootDirectory, string hostname, IReadOnlyList<SandboxMount> mounts, string workingDirectory, IReadOnlyList<string> argv, bool rootless, string startedFile,
        ImageRoot? image = null)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(argv);
        var namespaces = rootless ? new[] { "--user", "--map-root-user", "--mount", "--uts" } : ["--mount", "--uts"];
        return ["setsid", "unshare", .. namespaces, "--propagation", "private", "--", "/bin/sh", "-c", Script(rootDirectory, hostname, mounts, workingDirectory, startedFile, image, rootless), "kaito-container", .. argv];
    }

    /// <summary>The shell script that builds the root and execs the command (passed as its positional arguments).</summary>
    public static string Script(string rootDirectory, string hostname, IReadOnlyList<SandboxMount> mounts, string workingDirectory, string startedFile,
        ImageRoot? image = null, bool rootless = false)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        var script = new StringBuilder("set -e\n");
        var root = rootDirectory;
        script.Append("R=").Append(Quote(root)).Append('\n');
        script.Append("echo ").Append(Quote(hostname)).Append(" > /proc/sys/kernel/hostname 2>/dev/null || true\n");
        Func<string, string> resolve;
        if (image is null)
        {
            script.Append("mount -t tmpfs -o mode=755 kaito-root \"$R\"\n");
            resolve = Resolve;
            Expose("/", mounts.Select(m => Resolve(m.Target)).ToList(), script, topLevel: true);
        }
        else
        {
            script.Append($"mount -t overlay kaito-root -o {Quote($"lowerdir={image.Lower},upperdir={image.Upper},workdir={image.Work}")} \"$R\"\n");
            resolve = target => InImage(image.Lower, target);
        }

        script.Append("mkdir -p \"$R/dev\" \"$R/proc\" \"$R/sys\" \"$R/tmp\"\n");
        script.Append("mount -t tmpfs -o mode=755,nosuid kaito-dev \"$R/dev\"\n");
        foreach (var device in s_devices)
        {
            script.Append($"touch \"$R/dev/{device}\" && mount --bind /dev/{device} \"$R/dev/{device}\"\n");
        }

        script.Append("ln -s /proc/self/fd \"$R/dev/fd\"; ln -s /proc/self/fd/0 \"$R/dev/stdin\"; ln -s /proc/self/fd/1 \"$R/dev/stdout\"; ln -s /proc/self/fd/2 \"$R/dev/stderr\"\n");
        script.Append("mkdir -p \"$R/dev/shm\" \"$R/dev/pts\"\n");
        script.Append("mount --rbind /proc \"$R/proc\"\nmount --rbind /sys \"$R/sys\"\n");

        foreach (var mount in mounts.OrderBy(m => resolve(m.Target).Count(c => c == '/')))
        {
            var target = "\"$R\"" + Quote(resolve(mount.Target));
            var source = Quote(mount.Source);
            script.Append($"if [ -d {source} ]; then mkdir -p {target}; else mkdir -p \"$(dirname {target})\"; [ -e {target} ] || touch {target}; fi\n");
            script.Append($"mount --rbind {source} {target}\n");
            if (mount.ReadOnly)
            {
                script.Append($"mount -o remount,bind,ro {target} 2>/dev/null || mount -o remount,bind,ro,nosuid,nodev {target}\n");
            }
        }

        if (image is not null)
        {
            script.Append("mkdir -p \"$R\"").Append(Quote(resolve(workingDirectory))).Append('\n');
            if (image.ReadOnly)
            {
                script.Append("mount -o remount,ro \"$R\"\n");
            }

            script.Append(": > ").Append(Quote(startedFile)).Append('\n');
            script.Append("exec unshare --root=\"$R\" --wd=").Append(Quote(workingDirectory));
            if (!rootless && image.Group is { } group)
            {
                script.Append(" --setgid ").Append(group.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (!rootless && image.User is { } user)
            {
                script.Append(" --setuid ").Append(user.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            script.Append(" -- \"$@\"\n");
            return script.ToString();
        }

        script.Append(": > ").Append(Quote(startedFile)).Append('\n');
        script.Append("exec chroot \"$R\" /bin/sh -c 'cd \"$0\" && exec \"$@\"' ").Append(Quote(workingDirectory)).Append(" \"$@\"\n");
        return script.ToString();
    }

    /// <summary>
    /// Binds <paramref name="directory"/>'s host entries into the new root: whole, when no mount lands inside it; else
    /// entry by entry, recursing into the one that leads to a mount point, so the folders a mount needs are made on
    /// the tmpfs, never on the host.
    /// </summary>
    private static void Expose(string directory, List<string> targets, StringBuilder script, bool topLevel)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return;
        }

        foreach (var entry in entries)
        {
            var name = Path.GetFileName(entry);
            if (topLevel && name is "dev" or "proc" or "sys" or "tmp")
            {
                continue;
            }

            var inside = "\"$R\"" + Quote(entry);
            var info = new FileInfo(entry);
            if (info.LinkTarget is { } link)
            {
                script.Append($"ln -s {Quote(link)} {inside}\n");
            }
            else if (targets.Any(t => t == entry))
            {
                // replaced by a mount: the mount step makes it
            }
            else if (Directory.Exists(entry))
            {
                script.Append($"mkdir {inside}\n");
                if (targets.Any(t => t.StartsWith(entry + "/", StringComparison.Ordinal)))
                {
                    Expose(entry, targets, script, topLevel: false);
                }
                else
                {
                    script.Append($"mount --rbind {Quote(entry)} {inside}\n");
                }
            }
            else if (File.Exists(entry))
            {
                script.Append($"touch {inside} && mount --bind {Quote(entry)} {inside}\n");
            }
        }
    }

    /// <summary>
    /// A mount target with the symlinks along it resolved as the new root will have them (it mirrors the host's layout):
    /// <c>/var/run/x</c> is <c>/run/x</c> where <c>/var/run</c> links to <c>/run</c>. Mounting through the link instead
    /// would follow it out of the new root onto the host, as runc's securejoin prevents.
    /// </summary>
    internal static string Resolve(string target)
    {
        var parts = new Queue<string>(Normalize(target).Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = "";
        for (var hops = 0; parts.Count > 0;)
        {
            var part = parts.Dequeue();
            if (part == "..")
            {
                resolved = resolved.Length == 0 ? "" : resolved[..resolved.LastIndexOf('/')];
                continue;
            }

            var next = $"{resolved}/{part}";
            if (new FileInfo(next).LinkTarget is { } link && hops++ < 40)
            {
                // Restart from the link's target, then the rest of the path.
                var rest = parts.ToList();
                parts = new Queue<string>(link.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").Concat(rest));
                resolved = link.StartsWith('/') ? "" : resolved;
                continue;
            }

            resolved = next;
        }

        return resolved.Length == 0 ? "/" : resolved;
    }

    /// <summary>A mount target inside the image's root, with the image's own links along it resolved (never the host's).</summary>
    private static string InImage(string lower, string target)
    {
        var relative = Path.GetRelativePath(lower, LayerArchive.Resolve(lower, target, followLast: true, "the image", create: false));
        return relative == "." ? "/" : "/" + relative;
    }

    private static string Normalize(string path) => "/" + string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Single-quotes <paramref name="text"/> for sh.</summary>
    public static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
