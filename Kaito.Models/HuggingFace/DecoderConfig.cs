using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Kaito.Models.HuggingFace;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that describe a decoder-only transformer (Llama, Mistral, Qwen2,
/// Phi-3). Fields a family leaves out take the family's defaults (<see cref="HeadDim"/>,
/// <see cref="KeyValueHeads"/>); everything else in the file is kept in <see cref="Extra"/> and written back.
/// </summary>
public sealed class DecoderConfig
{
    public const string FileName = "config.json";

    [JsonPropertyName("architectures")]
    public IList<string> Architectures { get; init; } = [];

    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "llama";

    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; }

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; }

    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; }

    [JsonPropertyName("num_hidden_layers")]
    public int Layers { get; init; }

    [JsonPropertyName("num_attention_heads")]
    public int AttentionHeads { get; init; }

    [JsonPropertyName("num_key_value_heads")]
    public int? KeyValueHeadsValue { get; init; }

    [JsonPropertyName("head_dim")]
    public int? HeadDimValue { get; init; }

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 2048;

    [JsonPropertyName("rms_norm_eps")]
    public double RmsNormEps { get; init; } = 1e-6;

    [JsonPropertyName("rope_theta")]
    public double RopeTheta { get; init; } = 10000;

    [JsonPropertyName("rope_scaling")]
    public JsonObject? RopeScaling { get; init; }

    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "silu";

    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; }

    [JsonPropertyName("attention_bias")]
    public bool AttentionBias { get; init; }

    [JsonPropertyName("bos_token_id")]
    public int? BosTokenId { get; init; }

    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public IList<int> EosTokenIds { get; init; } = [];

    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; init; }

    [JsonPropertyName("torch_dtype")]
    public string? TorchDType { get; init; }

    [JsonExtensionData]
    public IDictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore]
    public int KeyValueHeads => KeyValueHeadsValue ?? AttentionHeads;

    [JsonIgnore]
    public int HeadDim => HeadDimValue ?? (AttentionHeads == 0 ? 0 : HiddenSize / AttentionHeads);

    /// <summary>Qwen2 always has q/k/v biases; the others only when <c>attention_bias</c> says so.</summary>
    [JsonIgnore]
    public bool HasQkvBias => AttentionBias || ModelType == "qwen2";

    public static DecoderConfig Load(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found: a Hugging Face model folder needs its config.json.", path);
        }

        DecoderConfig config;
        try
        {
            config = JsonSerializer.Deserialize<DecoderConfig>(File.ReadAllText(path), Json.ModelJson.Options)
                ?? throw new InvalidDataException($"{path}: the file is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }

        config.Validate(path);
        return config;
    }

    public void Save(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, FileName), JsonSerializer.Serialize(this, Json.ModelJson.Options));
    }

    /// <summary>Checks the numbers a decoder cannot be built without, naming the key that is wrong.</summary>
    public void Validate(string source)
    {
        void Require(bool condition, string message)
        {
            if (!condition)
            {
                throw new InvalidDataException($"{source}: {message}");
            }
        }

        Require(VocabSize > 0, "vocab_size must be positive.");
        Require(HiddenSize > 0, "hidden_size must be positive.");
        Require(IntermediateSize > 0, "intermediate_size must be positive.");
        Require(Layers > 0, "num_hidden_layers must be positive.");
        Require(AttentionHeads > 0, "num_attention_heads must be positive.");
        Require(KeyValueHeads > 0 && AttentionHeads % KeyValueHeads == 0,
            $"num_key_value_heads ({KeyValueHeads}) must divide num_attention_heads ({AttentionHeads}).");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be a positive even number (rotary embeddings rotate pairs).");
        Require(RmsNormEps > 0, "rms_norm_eps must be positive.");
        Require(RopeTheta > 0, "rope_theta must be positive.");
        Require(MaxPositionEmbeddings > 0, "max_position_embeddings must be positive.");
        Require(HiddenAct is "silu" or "swish", $"hidden_act '{HiddenAct}' is not supported (silu is).");
    }

    /// <summary><c>eos_token_id</c> is a number in some configs and a list in others.</summary>
    private sealed class TokenIdsConverter : JsonConverter<IList<int>>
    {
        public override IList<int> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                return [reader.GetInt32()];
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                return [];
            }

            return JsonSerializer.Deserialize<List<int>>(ref reader, options) ?? [];
        }

        public override void Write(Utf8JsonWriter writer, IList<int> value, JsonSerializerOptions options)
        {
            if (value.Count == 1)
            {
                writer.WriteNumberValue(value[0]);
                return;
            }

            writer.WriteStartArray();
            foreach (var id in value)
            {
                writer.WriteNumberValue(id);
            }

            writer.WriteEndArray();
        }
    }
}
