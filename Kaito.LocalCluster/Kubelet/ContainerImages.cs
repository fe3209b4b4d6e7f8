using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>How a container's image runs on this machine: the argv standing for its entrypoint and command, and where.</summary>
/// <param name="IsComponent">One of Kaito's own components (gets the pod IP to bind and the telemetry settings).</param>
/// <param name="Argv">The process to start: the image's entrypoint with the container's command and args applied.</param>
/// <param name="WorkingDirectory">The image's working directory when the container names none.</param>
/// <param name="Mounts">What the image itself brings, bound into the container: a component's build at <c>/app</c> and
/// the .NET runtime at <c>/.kaito/dotnet</c>; busybox's applets at <c>/.kaito/bin</c>.</param>
/// <param name="Path">The container's PATH.</param>
/// <param name="Image">The pulled image whose root file system the container runs in, or null when it runs in the host's.</param>
public sealed record RunnableContainer(bool IsComponent, IReadOnlyList<string> Argv, string WorkingDirectory, IReadOnlyList<SandboxMount> Mounts, string Path,
    PulledImage? Image = null);

/// <summary>
/// The images LocalCluster's kubelet can run: any image in a registry on this machine (pulled, see
/// <see cref="ImageStore"/>), Kaito's own (the locally built components named in
/// <see cref="KubeletOptions.Components"/>) and a few utility images played by the host's own tools — <c>busybox</c>
/// (its applets when busybox is installed, else the host's sh and coreutils), <c>curlimages/curl</c>, <c>skopeo</c> and
/// <c>oras</c> when those are installed. Every other image is not runnable here.
/// </summary>
public sealed class ContainerImages
{
    private readonly KubeletOptions _options;
    private readonly string _hostPath;
    private readonly Lazy<string?> _busyboxApplets;

    public ContainerImages(IOptions<KubeletOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _hostPath = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _busyboxApplets = new Lazy<string?>(BusyboxApplets);
    }

    /// <summary>The PATH containers start with: the host's.</summary>
    public string HostPath => _hostPath;

    /// <summary>Why <paramref name="image"/> cannot run here, or null when it can.</summary>
    public string? NotRunnable(string? image)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            return "the container names no image";
        }

        var reference = ImageReference.Parse(image);
        if (Pulls(image))
        {
            return null;
        }

        if (_options.Components.TryGetValue(reference.Name, out var component))
        {
            return File.Exists(component) ? null : $"simulated (image not runnable locally): {image} is Kaito's {reference.Name}, but its local build {component} does not exist";
        }

        return Tool(reference) switch
        {
            null => $"simulated (image not runnable locally): {image}",
            { } tool when FindExecutable(tool == "busybox" ? "sh" : tool, _hostPath) is null => $"simulated (image not runnable locally): {image} needs {tool} installed on this machine",
            _ => null,
        };
    }

    /// <summary>
    /// Whether <paramref name="image"/> is pulled and run from its own root file system: it is in a registry on this
    /// machine and no stand-in is configured for its repository name (<see cref="KubeletOptions.Components"/>, which win).
    /// </summary>
    public bool Pulls(string? image) =>
        _options.PullImages && ImageStore.CanPull(image) && !_options.Components.ContainsKey(ImageReference.Parse(image!).Name);

    /// <summary>The process standing for <paramref name="container"/>, which must be runnable; <paramref name="pulled"/> when its image was pulled.</summary>
    public RunnableContainer Resolve(JsonObject container, PulledImage? pulled = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        var image = ImageReference.Parse((string)container["image"]!);
        var command = Strings(container["command"]);
        var args = Strings(container["args"]);
        if (pulled is not null)
        {
            // Kubernetes' rule: command replaces the Entrypoint (and drops Cmd), args replace Cmd.
            IReadOnlyList<string> imageArgv = command is not null ? [.. command, .. args ?? []] : [.. pulled.Entrypoint, .. args ?? pulled.Cmd];
            var imagePath = pulled.Env.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
            // Kaito's own images bind their pod's loopback address and report to the same telemetry, as the local builds do.
            return new RunnableContainer(image.Name.StartsWith("kaito-", StringComparison.Ordinal), imageArgv, pulled.WorkingDir, [], imagePath, pulled);
        }
        if (_options.Components.TryGetValue(image.Name, out var component))
        {
            // As in the image: the build at /app, the runtime beside it, whatever the host's layout.
            var dotnet = Dotnet();
            var inImage = $"/app/{Path.GetFileName(component)}";
            List<string> entrypoint = component.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ["/.kaito/dotnet/dotnet", inImage] : [inImage];
            SandboxMount[] mounts = [new(Path.GetDirectoryName(Path.GetFullPath(component))!, "/app", ReadOnly: false), new(Path.GetDirectoryName(dotnet)!, "/.kaito/dotnet", ReadOnly: true)];
            return new RunnableContainer(true, command is not null ? [.. command, .. args ?? []] : [.. entrypoint, .. args ?? []], "/app", mounts, _hostPath);
        }

        var tool = Tool(image)!;
        var toolDirectory = tool == "busybox" ? _busyboxApplets.Value : null;
        var path = toolDirectory is null ? _hostPath : "/.kaito/bin:" + _hostPath;
        SandboxMount[] toolMounts = toolDirectory is null ? [] : [new(toolDirectory, "/.kaito/bin", ReadOnly: true)];
        IReadOnlyList<string> argv = (tool, command, args) switch
        {
            (_, not null, _) => [.. command, .. args ?? []],
            // curlimages/curl's entrypoint runs curl unless the first argument is a command of its own
            ("curl", null, null or []) => ["curl"],
            ("curl", null, [var first, ..]) when first.StartsWith('-') => ["curl", .. args],
            ("busybox", null, null or []) => ["sh"],
            ("skopeo" or "oras", null, _) => [tool, .. args ?? []],
            _ => args!,
        };
        return new RunnableContainer(false, argv, "/", toolMounts, path);
    }

    /// <summary>Looks <paramref name="name"/> up as a shell would: a path as it is, else on <paramref name="path"/>.</summary>
    public static string? FindExecutable(string name, string path)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(path);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : null;
        }

        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }

    private static string? Tool(ImageReference image) => image.Repository switch
    {
        "library/busybox" => "busybox",
        "curlimages/curl" => "curl",
        _ when image.Name == "skopeo" => "skopeo",
        _ when image.Name == "oras" => "oras",
        _ => null,
    };

    private string Dotnet()
    {
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        var found = FindExecutable("dotnet", _hostPath);
        return found is not null ? new FileInfo(found).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? found : throw new InvalidOperationException("LocalCluster runs Kaito's components with dotnet, which is not on PATH and DOTNET_ROOT is not set");
    }

    /// <summary>A folder of links to the host's busybox, one per applet, so <c>wget</c> and friends exist; null without busybox.</summary>
    private string? BusyboxApplets()
    {
        var busybox = FindExecutable("busybox", _hostPath);
        if (busybox is null)
        {
            return null;
        }

        var directory = Path.Combine(Path.GetTempPath(), $"kaito-busybox-{Environment.UserName}");
        busybox = new FileInfo(busybox).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? busybox;
        Directory.CreateDirectory(directory);
        using var list = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(busybox, "--list") { RedirectStandardOutput = true })!;
        var applets = list.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        list.WaitForExit();
        foreach (var applet in applets.Where(a => !a.Contains('/', StringComparison.Ordinal)))
        {
            var link = Path.Combine(directory, applet);
            if (!File.Exists(link))
            {
                try
                {
                    File.CreateSymbolicLink(link, busybox);
                }
                catch (IOException)
                {
                    // made by a concurrent run
                }
            }
        }

        return directory;
    }

    internal static List<string>? Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(v => v?.ToString() ?? "").ToList() : null;
}
