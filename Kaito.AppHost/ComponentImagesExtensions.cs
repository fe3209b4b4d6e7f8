using Kaito.Deploy;

namespace Kaito.AppHost;

/// <summary>
/// With a real cluster, the images Kaito's workspace pods run are built by the AppHost: <c>component-images</c> runs
/// deploy/images/build-images.sh (the SDK's container support, no Docker) and pushes them to <c>--image-registry</c>
/// (<c>Kaito:ImageRegistry</c>: a registry the cluster pulls from — kind's local registry, the cluster's ACR after
/// <c>az acr login</c>), and the controller, which waits for it, names exactly those: <c>&lt;registry&gt;/&lt;image&gt;:&lt;version&gt;</c>,
/// never <c>latest</c>. <c>--images</c> (<c>Kaito:Images</c>) narrows what is built (default: the inference server, the
/// tuner and the model puller); <c>--image-base local</c> builds the base from Debian packages where MCR is out of reach,
/// or names a base image. Registry credentials: the folder of a docker config.json, <c>--docker-config</c>
/// (<c>Kaito:DockerConfig</c>), else <c>DOCKER_CONFIG</c>, else ~/.docker/config.json. LocalCluster needs
/// none of this: its kubelet runs the local builds in place of these images.
/// </summary>
public static class ComponentImagesExtensions
{
    public const string ResourceName = "component-images";
    public const string DefaultImages = "kaito-inference-server,kaito-tuner,kaito-model-puller";

    public static IResourceBuilder<ProjectResource> WithComponentImages(this IResourceBuilder<ProjectResource> controller, IDistributedApplicationBuilder builder, KaitoCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        var registry = builder.Configuration["Kaito:ImageRegistry"];
        if (cluster.IsLocal || string.IsNullOrWhiteSpace(registry))
        {
            if (!cluster.IsLocal)
            {
                Console.Error.WriteLine($"No --image-registry: workspace pods will name ghcr.io/kaito-dotnet/*:{KaitoChart.Version}. " +
                    "Pass --image-registry <a registry the cluster pulls from> to build and push Kaito's images there.");
            }

            return controller;
        }

        var repository = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
        List<string> arguments = [Path.Combine(repository, "deploy", "images", "build-images.sh"), "--registry", registry,
            "--output", Path.Combine(builder.AppHostDirectory, ".kaito", "images")];
        foreach (var image in (builder.Configuration["Kaito:Images"] ?? DefaultImages).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            arguments.AddRange(["--only", image]);
        }

        switch (builder.Configuration["Kaito:ImageBase"])
        {
            case null or "":
                break;
            case "local":
                arguments.Add("--local-base");
                break;
            case var image:
                arguments.AddRange(["--base", image]);
                break;
        }

        var images = builder.AddExecutable(ResourceName, "bash", repository, [.. arguments]);
        if ((builder.Configuration["Kaito:DockerConfig"] ?? Environment.GetEnvironmentVariable("DOCKER_CONFIG")) is { Length: > 0 } dockerConfig)
        {
            images.WithEnvironment("DOCKER_CONFIG", dockerConfig);
        }

        return controller
            .WaitForCompletion(images)
            .WithEnvironment("Controller__ImageRegistry", registry)
            .WithEnvironment("Controller__ImageTag", KaitoChart.Version);
    }
}
