using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.Tuner.Tests;

/// <summary><c>decode</c>: the tuner's own greedy decode with an adapter, against the merged weights' reference decoder.</summary>
public sealed class AdapterDecodeTests(TuningFixture fixture) : IClassFixture<TuningFixture>
{
    private const string Prompt = "Kubernetes is an open-source system for";

    [Fact]
    public async Task DecodeWithAnAdapterEqualsTheMergedWeightsReferenceAndWithoutOneTheBase()
    {
        var adapterDirectory = Path.Combine(fixture.Root, "decode-adapter");
        var adapter = Kaito.Models.Tiny.TinyModel.RandomAdapter(fixture.Model, "decode-adapter", seed: 5);
        adapter.Save(adapterDirectory);
        var prompt = BpeTokenizer.Load(fixture.Model).Encode(Prompt);

        var tuned = await DecodeAsync("--model", fixture.Model, "--adapter", adapterDirectory, "--prompt", Prompt, "--max-tokens", "10");
        var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(fixture.Model), LoraAdapter.Load(adapterDirectory));
        Assert.Equal(prompt, Ids(tuned["prompt_ids"]!));
        Assert.Equal(new ReferenceDecoder(DecoderWeights.From(DecoderConfig.Load(fixture.Model), merged)).Greedy(prompt, 10), Ids(tuned["token_ids"]!));

        var plain = await DecodeAsync("--model", fixture.Model, "--prompt", Prompt, "--max-tokens", "10");
        Assert.Equal(new ReferenceDecoder(DecoderWeights.Load(fixture.Model)).Greedy(prompt, 10), Ids(plain["token_ids"]!));
        Assert.NotEqual(Ids(plain["token_ids"]!), Ids(tuned["token_ids"]!));
    }

    [Fact]
    public async Task DecodeRefusesBadArgumentsAndAMissingAdapterNamingThem()
    {
        var (unknown, unknownLog) = await TunerRun.RunAsync(fixture.Root, "decode", "--model", fixture.Model, "--bogus", "x");
        Assert.Equal(2, unknown);
        Assert.Contains("unknown argument '--bogus'", unknownLog, StringComparison.Ordinal);
        Assert.Contains("usage: decode --model <hf-dir> --prompt <text>", unknownLog, StringComparison.Ordinal);

        var (tooMany, tooManyLog) = await TunerRun.RunAsync(fixture.Root, "decode", "--model", fixture.Model, "--prompt", "x", "--max-tokens", "0");
        Assert.Equal(2, tooMany);
        Assert.Contains("--max-tokens '0' must be a whole number from 1 to 4096", tooManyLog, StringComparison.Ordinal);

        var missing = Path.Combine(fixture.Root, "no-such-adapter");
        var (absent, absentLog) = await TunerRun.RunAsync(fixture.Root, "decode", "--model", fixture.Model, "--prompt", "x", "--adapter", missing);
        Assert.Equal(2, absent);
        Assert.Contains(missing, absentLog, StringComparison.Ordinal);
    }

    private async Task<JsonNode> DecodeAsync(params string[] arguments)
    {
        var (exit, log) = await TunerRun.RunAsync(fixture.Root, ["decode", .. arguments]);
        Assert.True(exit == 0, log);
        var line = log.Split('\n').Single(l => l.StartsWith("{\"prompt_ids\"", StringComparison.Ordinal));
        return JsonNode.Parse(line)!;
    }

    private static List<int> Ids(JsonNode node) => [.. node.AsArray().Select(t => (int)t!)];
}
