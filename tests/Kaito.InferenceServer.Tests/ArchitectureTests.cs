using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.Tiny;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// The exporter and the server on the other tensor layouts the presets use — Qwen2's q/k/v biases and Phi-3's fused
/// qkv_proj and gate_up_proj — checked against the reference forward pass over the same Hugging Face weights.
/// </summary>
public sealed class ArchitectureTests
{
    [Theory]
    [InlineData("qwen2")]
    [InlineData("phi3")]
    public async Task GreedyOutputEqualsTheReferenceForwardPass(string architecture)
    {
        var root = Directory.CreateTempSubdirectory($"kaito-{architecture}-").FullName;
        try
        {
            var (hf, onnx) = TinyModel.Generate(root, architecture: architecture);
            var port = Ports.Free();
            await using var server = ServiceProcess.Start("Kaito.InferenceServer", root,
                ["--model", onnx, "--served-model-name", architecture, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await Eventually.ValueAsync(async () => (await http.GetAsync("health")).IsSuccessStatusCode ? "up" : null, TimeSpan.FromSeconds(90), () => server.Log);

            const string prompt = "Kubernetes schedules pods onto";
            var response = await http.PostAsJsonAsync("v1/completions", new { prompt, max_tokens = 12, temperature = 0, return_token_ids = true });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            var served = JsonNode.Parse(body)!["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!).ToList();

            var expected = new ReferenceDecoder(DecoderWeights.Load(hf)).Greedy(BpeTokenizer.Load(hf).Encode(prompt), served.Count);
            Assert.Equal(expected, served);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
