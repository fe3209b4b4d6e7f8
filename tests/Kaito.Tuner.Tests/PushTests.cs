using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Kaito.Testing;

namespace Kaito.Tuner.Tests;

/// <summary>The adapter pushed to a real registry (Debian's docker-registry with htpasswd basic auth).</summary>
public sealed class PushTests(TuningFixture fixture) : IClassFixture<TuningFixture>, IAsyncLifetime
{
    private RegistryProcess _registry = null!;

    public async Task InitializeAsync() => _registry = await RegistryProcess.StartAsync();

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task TheAdapterImageIsPushedAndItsLayerHoldsTheAdapterFilesByteForByte()
    {
        var output = Path.Combine(fixture.Root, "out-push");
        var image = $"{_registry.Address}/adapters/tiny-adapter:0.0.1";

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config("push", TuningFixture.LoraConfig(maxSteps: 5)),
            "--data", fixture.Data, "--model", fixture.Model, "--output", output,
            "--output-image", image, "--docker-config", _registry.DockerConfig(), "--insecure-registry", _registry.Address);

        Assert.True(exit == 0, log);
        var (inspectExit, inspect) = await RegistryProcess.RunAsync("skopeo",
            ["inspect", "--tls-verify=false", "--creds", $"{_registry.User}:{_registry.Password}", $"docker://{image}"]);
        Assert.True(inspectExit == 0, inspect);
        var manifest = JsonNode.Parse(inspect)!;
        Assert.Equal("tiny-adapter", (string?)manifest["Labels"]!["sh.kaito.model.name"]);
        var layer = (string)manifest["Layers"]![0]!;

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{_registry.User}:{_registry.Password}")));
        var blob = await http.GetByteArrayAsync($"http://{_registry.Address}/v2/adapters/tiny-adapter/blobs/{layer}");
        var files = new Dictionary<string, byte[]>();
        using (var reader = new TarReader(new GZipStream(new MemoryStream(blob), CompressionMode.Decompress)))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                using var copy = new MemoryStream();
                entry.DataStream?.CopyTo(copy);
                files[entry.Name] = copy.ToArray();
            }
        }

        Assert.Equal(["data/adapter_config.json", "data/adapter_model.safetensors"], files.Keys.Order());
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "adapter_config.json")), files["data/adapter_config.json"]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")), files["data/adapter_model.safetensors"]);
    }

    [Fact]
    public async Task AWrongPasswordFailsClearlyAndPushesNothing()
    {
        var image = $"{_registry.Address}/adapters/refused:0.0.1";

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config("refused", TuningFixture.LoraConfig(maxSteps: 3)),
            "--data", fixture.Data, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, "out-refused"),
            "--output-image", image, "--docker-config", _registry.DockerConfig(password: "wrong"), "--insecure-registry", _registry.Address);

        Assert.Equal(1, exit);
        Assert.Contains($"pushing the adapter to {image} failed: registry {_registry.Address} refused the credentials of user {_registry.User}", log, StringComparison.Ordinal);
        var (inspectExit, _) = await RegistryProcess.RunAsync("skopeo",
            ["inspect", "--tls-verify=false", "--creds", $"{_registry.User}:{_registry.Password}", $"docker://{image}"]);
        Assert.NotEqual(0, inspectExit);
        Assert.False(File.Exists(Path.Combine(fixture.Root, "out-refused", "fine_tuning_completed.txt")));
    }

    [Fact]
    public async Task ATokenRealmOnAnotherPlainHttpHostGetsNoCredentials()
    {
        using var realm = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        realm.Start();
        var realmUrl = $"http://127.0.0.1:{((System.Net.IPEndPoint)realm.LocalEndpoint).Port}/token";
        await using var registry = await RegistryProcess.StartWithTokenRealmAsync(realmUrl);
        var image = $"{registry.Address}/adapters/phished:0.0.1";

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config("phished", TuningFixture.LoraConfig(maxSteps: 3)),
            "--data", fixture.Data, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, "out-phished"),
            "--output-image", image, "--docker-config", registry.DockerConfig(), "--insecure-registry", registry.Address);

        Assert.Equal(1, exit);
        Assert.Contains($"names token realm {realmUrl}, which is neither https nor the registry itself; the credentials of user {registry.User} are not sent there",
            log, StringComparison.Ordinal);
        Assert.False(realm.Pending(), "the tuner connected to the foreign token realm");
    }

    [Fact]
    public async Task AMalformedDockerConfigFailsTheJobWithItsReason()
    {
        var image = $"{_registry.Address}/adapters/bad-config:0.0.1";
        var config = Path.Combine(fixture.Root, $"docker-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, "{\"auths\":{\"" + _registry.Address + "\":{\"auth\":5}}}");

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config("bad-config", TuningFixture.LoraConfig(maxSteps: 3)),
            "--data", fixture.Data, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, "out-bad-config"),
            "--output-image", image, "--docker-config", config, "--insecure-registry", _registry.Address);

        Assert.Equal(1, exit);
        Assert.Contains($"Tuning job failed (exit code 1): pushing the adapter to {image} failed: docker config {config} cannot be used", log, StringComparison.Ordinal);
    }
}
