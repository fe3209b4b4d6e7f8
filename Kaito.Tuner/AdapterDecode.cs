using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.Lora;
using Kaito.Models.Tokenizers;
using Kaito.Tuner.Training;

namespace Kaito.Tuner;

/// <summary>
/// <c>decode</c>: the tuner's own greedy decode of a prompt — the base weights in full precision with a PEFT adapter's
/// low-rank branch beside each projection, as training runs them (not merged) — printed as one JSON line
/// (<c>prompt_ids</c>, <c>token_ids</c>, <c>text</c>). It shows what an adapter does before it is served, and it is the
/// oracle a served adapter's greedy output is compared with: a different implementation (TorchSharp) from the server's
/// (ONNX Runtime GenAI over merged weights).
/// </summary>
public static class AdapterDecode
{
    public const string Command = "decode";

    private const string Usage = "usage: decode --model <hf-dir> --prompt <text> [--adapter <peft-dir>] [--max-tokens <n>] [--device auto|cpu|cuda]";

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is not ("--model" or "--prompt" or "--adapter" or "--max-tokens" or "--device") || i + 1 >= args.Count)
            {
                error.WriteLine(i + 1 >= args.Count && args[i].StartsWith("--", StringComparison.Ordinal)
                    ? $"error: {args[i]} needs a value" : $"error: unknown argument '{args[i]}'");
                error.WriteLine(Usage);
                return ExitCodes.InvalidInput;
            }

            options[args[i]] = args[++i];
        }

        if (!options.TryGetValue("--model", out var model) || !options.TryGetValue("--prompt", out var prompt))
        {
            error.WriteLine("error: --model and --prompt are required");
            error.WriteLine(Usage);
            return ExitCodes.InvalidInput;
        }

        var maxTokens = 16;
        if (options.TryGetValue("--max-tokens", out var max) && (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out maxTokens) || maxTokens is < 1 or > 4096))
        {
            error.WriteLine($"error: --max-tokens '{max}' must be a whole number from 1 to 4096");
            return ExitCodes.InvalidInput;
        }

        try
        {
            LibTorchLoader.Prepare();
            var device = TrainingDevice.Select(options.GetValueOrDefault("--device", "cpu"));
            var weights = DecoderWeights.Load(model);
            var tokenizer = BpeTokenizer.Load(model);
            var adapter = options.TryGetValue("--adapter", out var adapterDirectory) ? LoraAdapter.Load(adapterDirectory) : null;
            // Without an adapter: the base alone (a branch of rank 1 whose B is zero adds nothing).
            // The decoder scales by alpha / rank; rsLoRA's alpha / √rank is the same scale with alpha rescaled.
            using var decoder = adapter is null
                ? new LoraDecoder(weights, 1, 1, 0, weights.FusedProjections ? ["qkv_proj"] : ["q_proj"], seed: 0, device: device)
                : new LoraDecoder(weights, adapter.Rank, adapter.Scale * adapter.Rank, 0, [.. adapter.Modules.Keys.Select(ModuleOf).Distinct()], seed: 0, device: device);
            if (adapter is not null)
            {
                decoder.Load(adapter);
            }

            var ids = tokenizer.Encode(prompt);
            var generated = decoder.Greedy(ids, maxTokens);
            output.WriteLine(new JsonObject
            {
                ["prompt_ids"] = new JsonArray([.. ids.Select(t => (JsonNode)t)]),
                ["token_ids"] = new JsonArray([.. generated.Select(t => (JsonNode)t)]),
                ["text"] = tokenizer.Decode(generated, skipSpecialTokens: true),
            }.ToJsonString());
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException)
        {
            error.WriteLine($"error: {e.Message}");
            return e is NotSupportedException ? ExitCodes.Unsupported : ExitCodes.InvalidInput;
        }
    }

    /// <summary><c>model.layers.0.self_attn.q_proj</c> → <c>q_proj</c>.</summary>
    private static string ModuleOf(string module) => module[(module.LastIndexOf('.') + 1)..];
}
