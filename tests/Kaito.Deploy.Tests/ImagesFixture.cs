using System.Text;
using Kaito.Testing;

namespace Kaito.Deploy.Tests;

[CollectionDefinition(Name)]
public sealed class ImagesGroup : ICollectionFixture<ImagesFixture>
{
    public const string Name = "images";
}

/// <summary>
/// Builds the base image from Debian packages and the control plane's images with the SDK's container support, as
/// README.md tells a user to (deploy/images/build-base-image.sh, deploy/images/build-images.sh), pushed to a
/// docker-registry that wants a password (the credentials in a docker config, as `docker login` writes it).
/// </summary>
public sealed class ImagesFixture : IAsyncLifetime
{
    public RegistryProcess Registry { get; private set; } = null!;

    /// <summary>A folder holding config.json with the registry's credentials (DOCKER_CONFIG).</summary>
    public string DockerConfig { get; private set; } = null!;

    /// <summary>The base image as the script printed it: <c>registry/kaito-runtime-deps:bookworm@sha256:…</c>.</summary>
    public string BaseImage { get; private set; } = null!;

    /// <summary>The controller's image as images.txt records it: <c>registry/kaito-controller:version@sha256:…</c>.</summary>
    public string ControllerImage { get; private set; } = null!;

    /// <summary>The provisioner's image, likewise.</summary>
    public string ProvisionerImage { get; private set; } = null!;

    private string _output = null!;

    public async Task InitializeAsync()
    {
        Registry = await RegistryProcess.StartAsync();
        DockerConfig = Directory.CreateTempSubdirectory("kaito-docker-config-").FullName;
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Registry.User}:{Registry.Password}"));
        await File.WriteAllTextAsync(Path.Combine(DockerConfig, "config.json"), new System.Text.Json.Nodes.JsonObject
        {
            ["auths"] = new System.Text.Json.Nodes.JsonObject { [Registry.Address] = new System.Text.Json.Nodes.JsonObject { ["auth"] = auth } },
        }.ToJsonString());
        _output = Directory.CreateTempSubdirectory("kaito-images-").FullName;

        var (baseExit, baseOut, baseErr) = await RunAsync(Repository.PathOf("deploy", "images", "build-base-image.sh"), "--registry", Registry.Address);
        Assert.True(baseExit == 0, $"build-base-image.sh failed ({baseExit}):\n{baseErr}");
        BaseImage = baseOut.Trim().Split('\n')[^1];

        var (exit, output, error) = await RunAsync(Repository.PathOf("deploy", "images", "build-images.sh"),
            "--registry", Registry.Address, "--base", BaseImage.Split('@')[0], "--only", "kaito-controller", "--only", "kaito-provisioner", "--output", _output);
        Assert.True(exit == 0, $"build-images.sh failed ({exit}):\n{error[^Math.Min(error.Length, 6000)..]}");
        var images = output.Trim().Split('\n');
        ControllerImage = images.Single(i => i.Contains("/kaito-controller:", StringComparison.Ordinal));
        ProvisionerImage = images.Single(i => i.Contains("/kaito-provisioner:", StringComparison.Ordinal));
    }

    /// <summary>Runs <paramref name="command"/> with the registry's credentials in DOCKER_CONFIG.</summary>
    public Task<(int ExitCode, string Output, string Error)> RunAsync(string command, params string[] arguments) =>
        RegistryProcess.RunAsync(command, arguments, new Dictionary<string, string> { ["DOCKER_CONFIG"] = DockerConfig });

    /// <summary>skopeo with the registry's credentials, over plain HTTP.</summary>
    public Task<(int ExitCode, string Output, string Error)> SkopeoAsync(string verb, params string[] arguments) =>
        RunAsync("skopeo", [verb, verb == "copy" ? "--src-tls-verify=false" : "--tls-verify=false", verb == "copy" ? "--src-creds" : "--creds", $"{Registry.User}:{Registry.Password}", .. arguments]);

    public async Task DisposeAsync()
    {
        await Registry.DisposeAsync();
        Directory.Delete(DockerConfig, recursive: true);
        Directory.Delete(_output, recursive: true);
    }
}
