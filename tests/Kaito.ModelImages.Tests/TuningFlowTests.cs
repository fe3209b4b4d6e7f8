using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// The brief's flow on LocalCluster with real processes only: a QLoRA tuning workspace for kaito-tiny trains on data
/// from a URL (its base weights pulled from the model image), pushes the adapter to the registry, and then serves that
/// adapter at its own Service — by name and by default — with the greedy output of the base weights merged with it.
/// </summary>
public sealed class TuningFlowTests(ModelImagesFixture fixture) : IClassFixture<ModelImagesFixture>
{
    private const string Prompt = "what comes after 3?";
    private const int Tokens = 8;

    [Fact]
    public async Task ATunedAdapterIsPushedAndServedWithTheMergedWeightsOutput()
    {
        var kubectl = fixture.Cluster.Kubectl;
        var (pushed, output) = await Tools.KubectlKaitoAsync("model", "push", fixture.Model, "--preset", "kaito-tiny", "--registry", fixture.Registry.Address,
            "--precision", "fp32", "--docker-config", fixture.DockerConfig);
        Assert.True(pushed == 0, output);
        var adapterImage = $"{fixture.Registry.Address}/adapters/tiny-adapter:0.0.1";
        (await kubectl.RunAsync(["apply", "-f", "-"], $"""
            apiVersion: kaito.sh/v1alpha1
            kind: Workspace
            metadata:
              name: workspace-tuning-tiny
            resource:
              labelSelector:
                matchLabels:
                  apps: {ModelImagesFixture.NodeLabel}
            tuning:
              preset:
                name: kaito-tiny
                presetOptions:
                  imagePullSecrets: [registry-creds]
              method: qlora
              input:
                urls:
                  - "{fixture.DataUrl}"
              output:
                image: "{adapterImage}"
                imagePushSecret: registry-creds
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();

        await Eventually.ValueAsync(async () => await WorkspaceStatus.ConditionAsync(kubectl, "workspace-tuning-tiny", "WorkspaceSucceeded") is { Status: "True" } ? "done" : null,
            TimeSpan.FromMinutes(5), () => $"{kubectl.RunAsync("get", "workspace,jobs,pods", "-o", "yaml").GetAwaiter().GetResult().Output}\n{fixture.Logs}");
        var training = (await kubectl.RunAsync("logs", "job/workspace-tuning-tiny", "-c", "workspace-tuning-tiny")).EnsureSuccess().Output;
        Assert.Matches(@"Trained \d+ steps: loss [0-9.]+ → [0-9.]+", training);
        Assert.Contains($"Pushed the adapter to {adapterImage}", training, StringComparison.Ordinal);

        // The finished workspace then serves the base model with its adapter at its own Service.
        await Eventually.ValueAsync(async () => await WorkspaceStatus.ConditionAsync(kubectl, "workspace-tuning-tiny", "WorkspaceReady") is { Status: "True" } ? "ready" : null,
            TimeSpan.FromMinutes(5), () => $"{kubectl.RunAsync("logs", "workspace-tuning-tiny-0", "--all-containers").GetAwaiter().GetResult().Output}\n{fixture.Logs}");
        Assert.Contains("Adapter added: workspace-tuning-tiny", (await kubectl.RunAsync("logs", "workspace-tuning-tiny-0", "-c", "workspace-tuning-tiny")).Output, StringComparison.Ordinal);

        // The reference: the adapter as the registry holds it (pulled by the puller into a folder of our own), merged
        // into the base weights, decoded greedily by the independent reference decoder.
        var adapter = Path.Combine(fixture.Registry.Root, "pulled-adapter");
        var (code, pulled) = await Tools.PullAsync("--image", adapterImage, "--layout", "image-data", "--target", adapter, "--cache", "", "--docker-config", fixture.DockerConfig);
        Assert.True(code == 0, pulled);
        Assert.True(File.Exists(Path.Combine(adapter, ModelLayout.AdapterWeightsFile)), pulled);
        var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(fixture.Model), LoraAdapter.Load(adapter));
        var expected = new ReferenceDecoder(DecoderWeights.From(DecoderConfig.Load(fixture.Model), merged))
            .Greedy(BpeTokenizer.Load(fixture.Model).Encode(Prompt), Tokens);

        var clusterIp = (await kubectl.RunAsync("get", "service", "workspace-tuning-tiny", "-o", "jsonpath={.spec.clusterIP}")).EnsureSuccess().Output.Trim();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{clusterIp}/"), Timeout = TimeSpan.FromMinutes(2) };
        async Task<List<int>> CompleteAsync(object request)
        {
            using var response = await http.PostAsJsonAsync("v1/completions", request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            return [.. JsonNode.Parse(body)!["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!)];
        }

        // By its name, and by default (a request naming no model), the adapter answers; the base stays reachable by its own.
        Assert.Equal(expected, await CompleteAsync(new { model = "workspace-tuning-tiny", prompt = Prompt, max_tokens = Tokens, temperature = 0, return_token_ids = true }));
        Assert.Equal(expected, await CompleteAsync(new { prompt = Prompt, max_tokens = Tokens, temperature = 0, return_token_ids = true }));
        var models = await http.GetStringAsync(new Uri("v1/models", UriKind.Relative));
        Assert.Contains("\"id\":\"kaito-tiny\"", models, StringComparison.Ordinal);
    }
}
