using Kaito.Oci;
using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>A registry with the tiny model pushed by <c>kubectl kaito model push</c> (no converted form).</summary>
public sealed class PushedModelFixture : IAsyncLifetime
{
    public RegistryProcess Registry { get; private set; } = null!;

    public string Model { get; private set; } = null!;

    public string DockerConfig { get; private set; } = null!;

    public string Image => $"{Registry.Address}/kaito-kaito-tiny:0.1.0";

    public async Task InitializeAsync()
    {
        (Registry, DockerConfig, Model) = await Tools.RegistryWithTinyModelAsync();
        var (code, output) = await Tools.KubectlKaitoAsync("model", "push", Model, Image, "--docker-config", DockerConfig);
        Assert.True(code == 0, output);
    }

    public async Task DisposeAsync() => await Registry.DisposeAsync();
}

/// <summary>The model puller as the init container runs it: resumed downloads, corrupt partial files, no cache, no credentials.</summary>
public sealed class PullerTests(PushedModelFixture fixture) : IClassFixture<PushedModelFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-pull-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task AnInterruptedDownloadResumesWhereItStoppedAndIsVerified()
    {
        var weights = await File.ReadAllBytesAsync(Path.Combine(fixture.Model, "model.safetensors"));
        var digest = Digests.Of(weights);
        var cache = Path.Combine(_root, "cache");
        Directory.CreateDirectory(Path.Combine(cache, "partial"));
        var half = weights.Length / 2;
        await File.WriteAllBytesAsync(Path.Combine(cache, "partial", Digests.Hex(digest)), weights[..half]);

        var (code, log) = await PullAsync(cache);

        Assert.True(code == 0, log);
        Assert.Contains($"Resuming model.safetensors {digest} at {half} of {weights.Length} bytes", log, StringComparison.Ordinal);
        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(_root, "weights", "model.safetensors")));
        // Only the missing half crossed the wire: the registry answered a range request.
        Assert.Contains(fixture.Registry.Log, line => line.Contains($"/blobs/{digest} HTTP", StringComparison.Ordinal) && line.Contains($"\" 206 {weights.Length - half} ", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(cache, "blobs", "sha256", Digests.Hex(digest))));
    }

    [Fact]
    public async Task APartialFileWithWrongBytesIsRefusedDeletedAndTheNextPullSucceeds()
    {
        var weights = await File.ReadAllBytesAsync(Path.Combine(fixture.Model, "model.safetensors"));
        var digest = Digests.Of(weights);
        var cache = Path.Combine(_root, "cache");
        var partial = Path.Combine(cache, "partial", Digests.Hex(digest));
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        await File.WriteAllBytesAsync(partial, new byte[weights.Length / 2]);
        var terminationLog = Path.Combine(_root, "termination-log");
        await File.WriteAllTextAsync(terminationLog, "");

        var (code, log) = await PullAsync(cache, "--termination-log", terminationLog);

        Assert.True(code == 1, log);
        Assert.StartsWith($"model image {fixture.Image}: corrupted download refused: blob {digest}", await File.ReadAllTextAsync(terminationLog), StringComparison.Ordinal);
        Assert.False(File.Exists(partial));
        Assert.False(File.Exists(Path.Combine(cache, "blobs", "sha256", Digests.Hex(digest))));
        Assert.False(File.Exists(Path.Combine(_root, "weights", ModelPullMarker)));

        (code, log) = await PullAsync(cache);
        Assert.True(code == 0, log);
        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(_root, "weights", "model.safetensors")));
    }

    [Fact]
    public async Task WithoutANodeCacheTheFilesLandAndNoBlobsAreLeftBehind()
    {
        var (code, log) = await PullAsync("");

        Assert.True(code == 0, log);
        var weights = Path.Combine(_root, "weights");
        Assert.Equal(
            [ModelPullMarker, "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            Directory.EnumerateFileSystemEntries(weights).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fixture.Model, "tokenizer.json")), await File.ReadAllBytesAsync(Path.Combine(weights, "tokenizer.json")));

        // The same image again: nothing to do.
        (code, log) = await PullAsync("");
        Assert.True(code == 0, log);
        Assert.Contains("already holds", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentialsForAPrivateRegistryIsAClearFailure()
    {
        var (code, log) = await Tools.PullAsync("--image", fixture.Image, "--target", Path.Combine(_root, "weights"), "--cache", "");

        Assert.Equal(1, code);
        Assert.Contains($"model image {fixture.Image}: authentication failed: registry {fixture.Registry.Address} requires authentication and there are no credentials for it", log,
            StringComparison.Ordinal);
    }

    private const string ModelPullMarker = ".kaito-model-image";

    private Task<(int ExitCode, string Output)> PullAsync(string cache, params string[] extra) =>
        Tools.PullAsync(["--image", fixture.Image, "--target", Path.Combine(_root, "weights"), "--cache", cache, "--docker-config", fixture.DockerConfig, .. extra]);
}
