using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// Greedy output of the served model equals an independent plain forward pass over the Hugging Face weights — for
/// the base model (checks the ONNX export and the engine) and for the adapter (checks the LoRA merge).
/// </summary>
[Collection(SharedInferenceServer.Name)]
public sealed class ReferenceOutputTests(InferenceServerFixture server)
{
    private const string Prompt = "Kubernetes is an open-source system for";
    private const int Tokens = 12;

    [Fact]
    public async Task BaseModelGreedyOutputEqualsTheReferenceForwardPass()
    {
        var weights = DecoderWeights.Load(server.HuggingFace);

        var expected = Reference(weights);
        var actual = await CompleteAsync(InferenceServerFixture.ModelName);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task AdapterIsServedByNameAndItsOutputEqualsTheMergedWeightsReference()
    {
        var adapter = LoraAdapter.Load(Path.Combine(server.Adapters, InferenceServerFixture.AdapterName));
        var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(server.HuggingFace), adapter);
        var weights = DecoderWeights.From(DecoderConfig.Load(server.HuggingFace), merged);

        var expected = Reference(weights);
        var actual = await CompleteAsync(InferenceServerFixture.AdapterName);
        var baseOutput = await CompleteAsync(InferenceServerFixture.ModelName);

        Assert.Equal(expected, actual);
        Assert.NotEqual(baseOutput, actual);
    }

    private List<int> Reference(DecoderWeights weights)
    {
        var tokenizer = BpeTokenizer.Load(server.HuggingFace);
        return new ReferenceDecoder(weights).Greedy(tokenizer.Encode(Prompt), Tokens);
    }

    /// <summary>Token ids, not text: random weights emit partial UTF-8 that text decoders render differently.</summary>
    private async Task<List<int>> CompleteAsync(string model)
    {
        var response = await server.Http.PostAsJsonAsync("v1/completions", new { model, prompt = Prompt, max_tokens = Tokens, temperature = 0, return_token_ids = true });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return [.. JsonNode.Parse(body)!["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!)];
    }
}
