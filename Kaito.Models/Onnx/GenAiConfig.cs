using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Models.HuggingFace;
using Kaito.Models.Tokenizers;

namespace Kaito.Models.Onnx;

/// <summary>ONNX Runtime GenAI's <c>genai_config.json</c> for a model our exporter wrote.</summary>
public sealed class GenAiConfig
{
    public const string FileName = "genai_config.json";

    private GenAiConfig(JsonObject root) => Root = root;

    public JsonObject Root { get; }

    public int ContextLength => Root["model"]!["context_length"]!.GetValue<int>();

    public static GenAiConfig For(DecoderConfig config, TokenizerConfig tokenizerConfig, BpeTokenizer tokenizer, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizerConfig);
        ArgumentNullException.ThrowIfNull(tokenizer);
        int? Id(string? token) => token is null ? null : tokenizer.IdOf(token);

        var eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds : [.. new[] { Id(tokenizerConfig.EosToken) }.OfType<int>()];
        var bos = config.BosTokenId ?? Id(tokenizerConfig.BosToken) ?? eos.FirstOrDefault();
        var pad = config.PadTokenId ?? Id(tokenizerConfig.PadToken) ?? eos.FirstOrDefault();
        var type = config.ModelType is "llama" or "mistral" or "qwen2" or "phi3" ? config.ModelType : "llama";
        var root = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["bos_token_id"] = bos,
                ["eos_token_id"] = new JsonArray([.. eos.Select(id => (JsonNode)id)]),
                ["pad_token_id"] = pad,
                ["context_length"] = contextLength,
                ["type"] = type,
                ["vocab_size"] = config.VocabSize,
                ["decoder"] = new JsonObject
                {
                    ["filename"] = DecoderOnnxExporter.ModelFileName,
                    ["head_size"] = config.HeadDim,
                    ["hidden_size"] = config.HiddenSize,
                    ["num_attention_heads"] = config.AttentionHeads,
                    ["num_hidden_layers"] = config.Layers,
                    ["num_key_value_heads"] = config.KeyValueHeads,
                    ["session_options"] = new JsonObject
                    {
                        ["log_id"] = "onnxruntime-genai",
                        ["provider_options"] = new JsonArray(),
                    },
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = "input_ids",
                        ["attention_mask"] = "attention_mask",
                        ["position_ids"] = "position_ids",
                        ["past_key_names"] = "past_key_values.%d.key",
                        ["past_value_names"] = "past_key_values.%d.value",
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = "logits",
                        ["present_key_names"] = "present.%d.key",
                        ["present_value_names"] = "present.%d.value",
                    },
                },
            },
            ["search"] = new JsonObject
            {
                ["diversity_penalty"] = 0.0,
                ["do_sample"] = false,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["max_length"] = contextLength,
                ["min_length"] = 0,
                ["no_repeat_ngram_size"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                // Our graph grows the KV cache with Concat; a shared buffer needs GroupQueryAttention.
                ["past_present_share_buffer"] = false,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
            },
        };
        return new GenAiConfig(root);
    }

    public static GenAiConfig Load(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var path = Path.Combine(modelDirectory, FileName);
        try
        {
            return new GenAiConfig(JsonNode.Parse(File.ReadAllText(path))?.AsObject()
                ?? throw new InvalidDataException($"{path}: the file is empty."));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public void Save(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        DurableFile.WriteAllText(Path.Combine(modelDirectory, FileName), Root.ToJsonString(Json.ModelJson.Options));
    }
}
