using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>The puller's Hugging Face path against <see cref="LocalHub"/>: gated models, tokens, pinned revisions, resumed downloads.</summary>
public sealed class HubTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-hub-").FullName;
    private LocalHub _hub = null!;
    private Dictionary<string, byte[]> _files = null!;

    public async Task InitializeAsync()
    {
        _hub = await LocalHub.StartAsync();
        var model = Path.Combine(_root, "tiny");
        var (code, output) = await Tools.KubectlKaitoAsync("model", "tiny", model);
        Assert.True(code == 0, output);
        _files = Directory.EnumerateFiles(model).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        // What a real repository also carries and the engine does not need.
        _files["pytorch_model.bin"] = new byte[4096];
        _files["original/consolidated.00.pth"] = new byte[1024];
        _files["README.md"] = "# tiny"u8.ToArray();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AGatedModelWithoutATokenFailsSayingWhichSecretToProvide()
    {
        _hub.Commit("meta/gated-tiny", _files, gated: true);
        var terminationLog = Path.Combine(_root, "termination-log");
        await File.WriteAllTextAsync(terminationLog, "");

        var (code, log) = await PullAsync("meta/gated-tiny", "main", token: null, "--termination-log", terminationLog);

        Assert.True(code == 1, log);
        Assert.StartsWith("Hugging Face model meta/gated-tiny@main: model meta/gated-tiny is gated or private: it needs a Hugging Face token with access " +
            "(the workspace's modelAccessSecret, key HF_TOKEN) (401 GatedRepo: Access to model meta/gated-tiny is restricted.", await File.ReadAllTextAsync(terminationLog), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "weights")) && Directory.EnumerateFiles(Path.Combine(_root, "weights")).Any());
    }

    [Fact]
    public async Task WithTheTokenTheNeededFilesOfThePinnedCommitAreDownloadedAndTheTokenNeverLeavesTheHub()
    {
        var first = _hub.Commit("meta/gated-tiny", _files, gated: true);
        // main moves on after the workspace pinned the first commit.
        _hub.Commit("meta/gated-tiny", new Dictionary<string, byte[]>(_files) { ["config.json"] = """{"model_type": "changed"}"""u8.ToArray() }, gated: true);

        var (code, log) = await PullAsync("meta/gated-tiny", first, LocalHub.Token);

        Assert.True(code == 0, log);
        Assert.Contains($"Model meta/gated-tiny revision {first} is commit {first}: 4 of 7 files", log, StringComparison.Ordinal);
        var weights = Path.Combine(_root, "weights");
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            Directory.EnumerateFiles(weights).Select(Path.GetFileName).Where(f => !f!.StartsWith('.')).Order(StringComparer.Ordinal));
        Assert.Equal(_files["config.json"], await File.ReadAllBytesAsync(Path.Combine(weights, "config.json")));
        Assert.Equal(_files["model.safetensors"], await File.ReadAllBytesAsync(Path.Combine(weights, "model.safetensors")));
        Assert.All(_hub.Requests.Where(r => r.Path.Contains("/resolve/", StringComparison.Ordinal)), r => Assert.Contains($"/resolve/{first}/", r.Path, StringComparison.Ordinal));
        Assert.All(_hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.False(r.Authorized, "the token was sent to the CDN"));
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnInterruptedDownloadResumesWithARangeRequest()
    {
        _hub.Commit("kaito/tiny", _files);
        var half = _files["model.safetensors"].Length / 2;
        _hub.CutOnce(_files["model.safetensors"], half);

        var (code, log) = await PullAsync("kaito/tiny", "main", token: null);

        Assert.True(code == 0, log);
        Assert.Contains("model.safetensors: download interrupted at", log, StringComparison.Ordinal);
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range != "bytes=0-");
        Assert.Equal(_files["model.safetensors"], await File.ReadAllBytesAsync(Path.Combine(_root, "weights", "model.safetensors")));
        // The node cache holds it under its sha256, as a model image's layer.
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_root, "cache", "blobs", "sha256")));
    }

    [Fact]
    public async Task AnUnknownRevisionIsNamed()
    {
        _hub.Commit("kaito/tiny", _files);

        var (code, log) = await PullAsync("kaito/tiny", "v9", token: null);

        Assert.Equal(1, code);
        Assert.Contains("model kaito/tiny has no revision v9 (404 RevisionNotFound: Invalid rev id: v9)", log, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Output)> PullAsync(string model, string revision, string? token, params string[] extra)
    {
        var arguments = new List<string> { "--hf-model", model, "--revision", revision, "--hf-endpoint", _hub.Endpoint.ToString(),
            "--target", Path.Combine(_root, "weights"), "--cache", Path.Combine(_root, "cache") };
        if (token is not null)
        {
            var file = Path.Combine(_root, "token");
            await File.WriteAllTextAsync(file, token);
            arguments.AddRange(["--hf-token-file", file]);
        }

        return await RegistryProcess.RunAsync("dotnet", [KaitoTools.PullerPath, .. arguments, .. extra]);
    }
}
