using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kaito.Models.Decoder;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// The whole weights path on real processes: <c>kubectl kaito model push</c> to a real registry, the controller's
/// model-weights-downloader init container run by LocalCluster's kubelet (Kaito's puller), the node's blob cache, the
/// inference server serving the pulled weights — and every way a pull fails surfacing on the workspace.
/// </summary>
public sealed partial class WeightsPathTests(ModelImagesFixture fixture) : IClassFixture<ModelImagesFixture>
{
    private const string Prompt = "the model image";
    private const int Tokens = 8;
    private static readonly TimeSpan s_ready = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task APushedModelIsPulledOnceIntoTheNodeCacheAndServedByTwoWorkspacesWithTheReferenceOutput()
    {
        var image = $"{fixture.Registry.Address}/kaito-kaito-tiny:0.1.0";
        var (code, pushed) = await Tools.KubectlKaitoAsync("model", "push", fixture.Model, image, "--precision", "fp32", "--revision", "test-rev", "--docker-config", fixture.DockerConfig);
        Assert.True(code == 0, pushed);
        Assert.Matches($"{Regex.Escape(image)}@sha256:[0-9a-f]{{64}}", pushed);

        var (inspected, inspection) = await RegistryProcess.RunAsync("skopeo",
            ["inspect", "--tls-verify=false", "--creds", $"{fixture.Registry.User}:{fixture.Registry.Password}", $"docker://{image}"]);
        Assert.True(inspected == 0, inspection);
        var labels = JsonNode.Parse(inspection)!["Labels"]!;
        Assert.Equal("kaito-tiny", (string?)labels["sh.kaito.model.name"]);
        Assert.Equal("test-rev", (string?)labels["sh.kaito.model.revision"]);
        Assert.Equal("fp32", (string?)labels["sh.kaito.model.precision"]);
        var (_, raw) = await RegistryProcess.RunAsync("skopeo",
            ["inspect", "--raw", "--tls-verify=false", "--creds", $"{fixture.Registry.User}:{fixture.Registry.Password}", $"docker://{image}"]);
        var layers = JsonNode.Parse(raw)!["layers"]!.AsArray();
        Assert.Contains(layers, l => (string?)l!["annotations"]!["org.opencontainers.image.title"] == "onnx/cpu-fp32/model.onnx");
        var safetensors = layers.Single(l => (string?)l!["annotations"]!["org.opencontainers.image.title"] == "model.safetensors")!;
        var weightsDigest = (string)safetensors["digest"]!;

        await ApplyAsync("tiny-a");
        await ReadyAsync("tiny-a");
        var log = (await fixture.Cluster.Kubectl.RunAsync("logs", "tiny-a-0", "-c", "model-weights-downloader")).EnsureSuccess().Output;
        Assert.Contains($"Pulled model.safetensors {weightsDigest} ({(long)safetensors["size"]!} bytes) from {fixture.Registry.Address}", log, StringComparison.Ordinal);
        Assert.Equal(await ReferenceAsync(), await CompleteAsync("tiny-a"));

        // kubectl kaito chat: through the API server's service proxy, streamed, the same greedy answer the Service gives.
        var (chatted, answer) = await Tools.KubectlKaitoAsync("chat", "tiny-a", "--prompt", Prompt, "--max-tokens", $"{Tokens}", "--temperature", "0",
            "--kubeconfig", fixture.Cluster.Kubeconfig);
        Assert.True(chatted == 0, answer);
        Assert.Equal(await ChatAsync("tiny-a"), answer.TrimEnd('\n'));
        var (statusCode, status) = await Tools.KubectlKaitoAsync("status", "tiny-a", "--kubeconfig", fixture.Cluster.Kubeconfig);
        Assert.True(statusCode == 0, status);
        Assert.True(status.Contains("Workspace default/tiny-a: ready", StringComparison.Ordinal), status);

        var digests = layers.Select(l => (string)l!["digest"]!).Distinct().ToList();
        Assert.All(digests, d => Assert.Equal(1, fixture.Registry.BlobFetches(d)));

        // A second workspace of the same model on the same node: everything from the node cache.
        await ApplyAsync("tiny-b");
        await ReadyAsync("tiny-b");
        var second = (await fixture.Cluster.Kubectl.RunAsync("logs", "tiny-b-0", "-c", "model-weights-downloader")).EnsureSuccess().Output;
        Assert.Contains($"Reused model.safetensors {weightsDigest}", second, StringComparison.Ordinal);
        Assert.DoesNotContain("Pulled ", second, StringComparison.Ordinal);
        Assert.All(digests, d => Assert.Equal(1, fixture.Registry.BlobFetches(d)));
        Assert.Equal(await ReferenceAsync(), await CompleteAsync("tiny-b"));

        // The server loaded the export the image carries instead of exporting at start.
        Assert.Contains("Serving the ONNX export the model image carries", (await fixture.Cluster.Kubectl.RunAsync("logs", "tiny-b-0", "-c", "tiny-b")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WeightsWithoutAnOnnxFormAreExportedOncePerNode()
    {
        // Other random weights (no blob shared with the image another test counts), Hugging Face files only, pushed
        // under their own name: both workspaces pin it as their private image.
        var model = Path.Combine(fixture.Registry.Root, "tiny-seed-7");
        var (code, pushed) = await Tools.KubectlKaitoAsync("model", "tiny", model, "--seed", "7");
        Assert.True(code == 0, pushed);
        var image = $"{fixture.Registry.Address}/kaito-tiny-hf-only:0.1.0";
        (code, pushed) = await Tools.KubectlKaitoAsync("model", "push", model, image, "--name", "kaito-tiny", "--docker-config", fixture.DockerConfig);
        Assert.True(code == 0, pushed);

        await ApplyAsync("export-a", image);
        await ReadyAsync("export-a");
        await ApplyAsync("export-b", image);
        await ReadyAsync("export-b");

        var first = (await fixture.Cluster.Kubectl.RunAsync("logs", "export-a-0", "-c", "export-a")).EnsureSuccess().Output;
        var second = (await fixture.Cluster.Kubectl.RunAsync("logs", "export-b-0", "-c", "export-b")).EnsureSuccess().Output;
        Assert.Contains("Exporting Hugging Face model /workspace/weights to ONNX in /var/lib/kaito/model-cache/exports/models/weights-", first, StringComparison.Ordinal);
        Assert.Contains("Reusing the ONNX export in /var/lib/kaito/model-cache/exports/models/weights-", second, StringComparison.Ordinal);
        Assert.Equal(await ReferenceAsync(model), await CompleteAsync("export-b"));
    }

    [Fact]
    public async Task AMissingImageIsNamedOnTheWorkspaceWithinAMinute()
    {
        var image = $"{fixture.Registry.Address}/kaito-not-pushed:9.9.9";
        await ApplyAsync("missing-image", image);
        var message = await NotReadyAsync("missing-image", TimeSpan.FromSeconds(60));
        Assert.Contains($"model image {image} not found: manifest kaito-not-pushed:9.9.9 not found in registry {fixture.Registry.Address} (404 MANIFEST_UNKNOWN: manifest unknown)",
            message, StringComparison.Ordinal);

        var (code, status) = await Tools.KubectlKaitoAsync("status", "missing-image", "--kubeconfig", fixture.Cluster.Kubeconfig);
        Assert.Equal(1, code);
        Assert.True(status.Contains("Workspace default/missing-image: not ready", StringComparison.Ordinal), status);
        Assert.True(status.Contains($"Cause: InferenceReady is False (ImagePullError): pod missing-image-0: model image {image} not found", StringComparison.Ordinal), status);
        Assert.True(status.Contains("init container model-weights-downloader", StringComparison.Ordinal), status);
    }

    [Fact]
    public async Task RefusedCredentialsNameTheRegistry()
    {
        await fixture.CreatePullSecretAsync("wrong-creds", "not-the-password");
        await ApplyAsync("wrong-creds", pullSecret: "wrong-creds");
        var message = await NotReadyAsync("wrong-creds", s_ready);
        Assert.Contains("authentication failed", message, StringComparison.Ordinal);
        Assert.Contains($"registry {fixture.Registry.Address} refused the credentials of user {fixture.Registry.User}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACorruptedBlobIsRefusedNothingIsServedAndThePullIsRetriedWithBackOff()
    {
        // An image of its own (no blob shared with the tiny model's, which another test counts): a config and a file
        // whose blob is then corrupted in the registry's storage.
        var folder = Path.Combine(fixture.Registry.Root, "corrupt-model");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "config.json"), """{"model_type": "llama", "note": "corrupt-blob test"}""");
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), $"a blob of this test only {Guid.NewGuid()}");
        var image = $"{fixture.Registry.Address}/kaito-corrupt:0.1.0";
        var (code, pushed) = await Tools.KubectlKaitoAsync("model", "push", folder, image, "--docker-config", fixture.DockerConfig);
        Assert.True(code == 0, pushed);
        var (_, raw) = await RegistryProcess.RunAsync("skopeo",
            ["inspect", "--raw", "--tls-verify=false", "--creds", $"{fixture.Registry.User}:{fixture.Registry.Password}", $"docker://{image}"]);
        var notes = (string)JsonNode.Parse(raw)!["layers"]!.AsArray().Single(l => (string?)l!["annotations"]!["org.opencontainers.image.title"] == "notes.txt")!["digest"]!;
        var blob = fixture.Registry.BlobFile(notes);
        var bytes = await File.ReadAllBytesAsync(blob);
        bytes[0] ^= 0xff;
        await File.WriteAllBytesAsync(blob, bytes);

        await ApplyAsync("corrupt", image);
        var message = await NotReadyAsync("corrupt", s_ready);
        Assert.Contains($"corrupted download refused: blob {notes}", message, StringComparison.Ordinal);

        // Retried by the kubelet with back-off, and the server never starts.
        var pod = await Eventually.ValueAsync(async () =>
        {
            var json = JsonNode.Parse((await fixture.Cluster.Kubectl.RunAsync("get", "pod", "corrupt-0", "-o", "json")).EnsureSuccess().Output)!;
            return (int?)json["status"]?["initContainerStatuses"]?[0]?["restartCount"] >= 2 ? json : null;
        }, s_ready, () => fixture.Logs);
        Assert.Null(pod["status"]?["containerStatuses"]?[0]?["state"]?["running"]);
        Assert.Contains("PodInitializing", pod["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"]?.ToString() ?? "", StringComparison.Ordinal);
    }

    /// <summary>A kaito-tiny workspace on the fixture's node, its model image (the preset's, or <paramref name="image"/>) pulled with <paramref name="pullSecret"/>.</summary>
    private Task ApplyAsync(string name, string? image = null, string pullSecret = "registry-creds") =>
        WorkspaceStatus.ApplyTinyAsync(fixture.Cluster.Kubectl, name, ModelImagesFixture.NodeLabel,
            [.. image is null ? Array.Empty<string>() : [$"image: {image}"], $"imagePullSecrets: [{pullSecret}]"]);

    private async Task ReadyAsync(string name) =>
        await Eventually.ValueAsync(async () => await WorkspaceStatus.ConditionAsync(fixture.Cluster.Kubectl, name) is { Status: "True" } ? "ready" : null, s_ready,
            () => $"{Describe(name).GetAwaiter().GetResult()}\n{fixture.Logs}");

    /// <summary>InferenceReady=False's message once it names a pull failure (reason ImagePullError).</summary>
    private async Task<string> NotReadyAsync(string name, TimeSpan within) =>
        await Eventually.ValueAsync<string>(async () => await WorkspaceStatus.ConditionAsync(fixture.Cluster.Kubectl, name) is { Status: "False", Reason: "ImagePullError" } c ? c.Message : null, within,
            () => $"{Describe(name).GetAwaiter().GetResult()}\n{fixture.Logs}");

    private async Task<string> Describe(string name) =>
        (await fixture.Cluster.Kubectl.RunAsync("get", "workspace,pods", "-o", "yaml")).Output + (await fixture.Cluster.Kubectl.RunAsync("logs", $"{name}-0", "--all-containers")).Output;

    private Task<List<int>> ReferenceAsync(string? model = null) => Task.Run(() =>
        new ReferenceDecoder(DecoderWeights.Load(model ?? fixture.Model)).Greedy(BpeTokenizer.Load(model ?? fixture.Model).Encode(Prompt), Tokens));

    /// <summary>The greedy chat answer from the workspace's Service, not streamed.</summary>
    private async Task<string> ChatAsync(string workspace)
    {
        var clusterIp = (await fixture.Cluster.Kubectl.RunAsync("get", "service", workspace, "-o", "jsonpath={.spec.clusterIP}")).EnsureSuccess().Output.Trim();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{clusterIp}/"), Timeout = TimeSpan.FromMinutes(2) };
        using var response = await http.PostAsJsonAsync("v1/chat/completions",
            new { model = "kaito-tiny", messages = new[] { new { role = "user", content = Prompt } }, max_tokens = Tokens, temperature = 0 });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return (string)JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!;
    }

    /// <summary>Greedy token ids from the workspace's Service (its ClusterIP, on loopback, through LocalCluster's kube-proxy).</summary>
    private async Task<List<int>> CompleteAsync(string workspace)
    {
        var clusterIp = (await fixture.Cluster.Kubectl.RunAsync("get", "service", workspace, "-o", "jsonpath={.spec.clusterIP}")).EnsureSuccess().Output.Trim();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{clusterIp}/"), Timeout = TimeSpan.FromMinutes(2) };
        using var response = await http.PostAsJsonAsync("v1/completions", new { model = "kaito-tiny", prompt = Prompt, max_tokens = Tokens, temperature = 0, return_token_ids = true });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return [.. JsonNode.Parse(body)!["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!)];
    }
}
