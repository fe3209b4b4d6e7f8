using System.Globalization;

namespace Kaito.AppHost;

/// <summary>
/// Model weights for LocalCluster's pods, as a cluster gets them from a registry: a local OCI registry (Debian's
/// <c>docker-registry</c>, <c>model-registry</c>, on <c>localhost:&lt;Kaito:LocalRegistry:Port&gt;</c>, default 5001,
/// its blobs kept in <c>.kaito/model-registry</c>), the generated tiny model pushed to it as the kaito-tiny preset's
/// image by <c>kubectl kaito</c> (<c>tiny-model</c>, then <c>model-push</c>), the controller pointed at it, and the
/// kubelet told which local builds play Kaito's images (inference server, model puller, tuner), so a kaito-tiny
/// workspace serves for real. Without <c>docker-registry</c> on the PATH the registry is left out and says so.
/// </summary>
public static class LocalModelImagesExtensions
{
    public const int DefaultRegistryPort = 5001;

    public static IDistributedApplicationBuilder AddLocalModelImages(this IDistributedApplicationBuilder builder, KaitoCluster cluster,
        IResourceBuilder<ProjectResource> controller)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(controller);
        if (cluster.Local is not { } local)
        {
            return builder;
        }

        // The kubelet runs the locally built components for Kaito's images.
        foreach (var (image, project, assembly) in new (string, IProjectMetadata, string)[]
        {
            ("kaito-inference-server", new Projects.Kaito_InferenceServer(), "Kaito.InferenceServer"),
            ("kaito-model-puller", new Projects.Kaito_ModelPuller(), "kaito-model-puller"),
            ("kaito-tuner", new Projects.Kaito_Tuner(), "Kaito.Tuner"),
        })
        {
            if (BuildOutput(project, assembly) is { } path)
            {
                local.WithEnvironment($"LocalCluster__Kubelet__Components__{image}", path);
            }
        }

        var kaito = Path.Combine(builder.AppHostDirectory, ".kaito");
        var registryTool = FindOnPath("docker-registry");
        if (registryTool is null)
        {
            Console.Error.WriteLine("docker-registry is not installed (apt-get install docker-registry): no local model registry, so workspace pods cannot pull model weights.");
            return builder;
        }

        var port = int.Parse(builder.Configuration["Kaito:LocalRegistry:Port"] ?? DefaultRegistryPort.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var folder = Path.Combine(kaito, "model-registry");
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "config.yml");
        // The same for every run (the address comes from the environment), so AppHosts built side by side never see
        // each other's half-written file.
        var text = $"""
            # Written by the AppHost: the local registry of model images (its address comes from REGISTRY_HTTP_ADDR).
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(folder, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{DefaultRegistryPort}
            """;
        if (!File.Exists(config) || File.ReadAllText(config) != text)
        {
            var temporary = $"{config}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, config, overwrite: true);
        }

        var listen = $"127.0.0.1:{port}";
        var registry = builder.AddExecutable("model-registry", registryTool, folder, "serve", config)
            .WithEnvironment("REGISTRY_HTTP_ADDR", listen)
            .WithHttpEndpoint(port: port, isProxied: false, name: "http")
            .WithHttpHealthCheck("/v2/");

        var tinyFolder = Path.Combine(kaito, "model-images", "kaito-tiny");
        var tiny = builder.AddProject<Projects.Kaito_Cli>("tiny-model")
            .WithArgs("model", "tiny", tinyFolder);
        var address = $"localhost:{port}";
        builder.AddProject<Projects.Kaito_Cli>("model-push")
            .WithArgs("model", "push", tinyFolder, "--preset", "kaito-tiny", "--registry", address, "--precision", "fp32")
            .WaitFor(registry)
            .WaitForCompletion(tiny);
        controller.WithEnvironment("Controller__ModelRegistry", address);
        return builder;
    }

    /// <summary>The component's built assembly (with or without a runtime folder), or null when it is not built.</summary>
    private static string? BuildOutput(IProjectMetadata project, string assembly)
    {
        // The AppHost runs from <repo>/Kaito.AppHost/bin/<Configuration>/<framework>/: its components are built alike.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var output = Path.Combine(Path.GetDirectoryName(project.ProjectPath)!, "bin", framework.Parent!.Name, framework.Name);
        return new[] { Path.Combine(output, "linux-x64", assembly + ".dll"), Path.Combine(output, assembly + ".dll") }.FirstOrDefault(File.Exists);
    }

    internal static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
}
