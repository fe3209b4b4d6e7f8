using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Tiny;
using Kaito.Models.Tokenizers;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// Our byte-level BPE (used by the tuner) gives exactly the token ids the server's GenAI tokenizer gives, and
/// /tokenize and /detokenize answer as vLLM's do.
/// </summary>
[Collection(SharedInferenceServer.Name)]
public sealed class TokenizerTests(InferenceServerFixture server)
{
    public static TheoryData<string> Texts => new()
    {
        "What is Kubernetes?",
        "Ang workspace ay nagtatakda ng modelo.",
        "  leading and trailing spaces  ",
        "tabs\tand\nnew lines\r\n\n",
        "numbers 0123456789 and 3.14159, 1e-5",
        "punctuation!!! ... ??? (brackets) [x] {y} \"quotes\" 'single'",
        "don't you'll we've I'm she'd they're it's",
        "unicode: café, naïve, Straße, 東京, Ελληνικά, עברית",
        "emoji 🚀🤖 and symbols ∑∫√",
        $"{TinyModel.ImStart}user\nhello{TinyModel.ImEnd}\n{TinyModel.ImStart}assistant\n",
        $"text{TinyModel.EndOfText}more text",
        "",
        "kubectl apply -f workspace.yaml; kubectl get workspace -o yaml",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task OurTokenizerGivesTheServersTokenIds(string text)
    {
        var ours = BpeTokenizer.Load(server.HuggingFace).Encode(text);

        var response = await server.Http.PostAsJsonAsync("tokenize", new { prompt = text });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(ours, body["tokens"]!.AsArray().Select(t => (int)t!));
        Assert.Equal(ours.Length, (int)body["count"]!);
        Assert.Equal(2048, (int)body["max_model_len"]!);
    }

    [Fact]
    public async Task DetokenizeInvertsTokenize()
    {
        const string text = "Kubernetes runs pods on nodes.";
        var tokens = BpeTokenizer.Load(server.HuggingFace).Encode(text);

        var response = await server.Http.PostAsJsonAsync("detokenize", new { tokens });

        Assert.Equal(text, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["prompt"]);
    }

    [Fact]
    public async Task DetokenizeRefusesIdsOutsideTheVocabulary()
    {
        int[] tokens = [1, 99999];

        var response = await server.Http.PostAsJsonAsync("detokenize", new { tokens });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("tokens", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["param"]);
    }

    [Fact]
    public async Task TokenizeMessagesCountsTheTemplatedPrompt()
    {
        var response = await server.Http.PostAsJsonAsync("tokenize", new { messages = new[] { new { role = "user", content = "hi" } } });
        var expected = BpeTokenizer.Load(server.HuggingFace).Encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");

        Assert.Equal(expected, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["tokens"]!.AsArray().Select(t => (int)t!));
    }
}
