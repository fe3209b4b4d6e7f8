using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kaito.Models.Tokenizers;

/// <summary>The parts of a Hugging Face <c>tokenizer_config.json</c> the server and the tuner use.</summary>
public sealed class TokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    [JsonPropertyName("tokenizer_class")]
    public string TokenizerClass { get; init; } = "GPT2Tokenizer";

    [JsonPropertyName("bos_token")]
    public string? BosToken { get; init; }

    [JsonPropertyName("eos_token")]
    public string? EosToken { get; init; }

    [JsonPropertyName("pad_token")]
    public string? PadToken { get; init; }

    [JsonPropertyName("unk_token")]
    public string? UnkToken { get; init; }

    [JsonPropertyName("add_bos_token")]
    public bool AddBosToken { get; init; }

    [JsonPropertyName("add_eos_token")]
    public bool AddEosToken { get; init; }

    [JsonPropertyName("model_max_length")]
    public long? ModelMaxLength { get; init; }

    [JsonPropertyName("clean_up_tokenization_spaces")]
    public bool CleanUpTokenizationSpaces { get; init; }

    /// <summary>A Jinja template over <c>messages</c> (role, content) and <c>add_generation_prompt</c>.</summary>
    [JsonPropertyName("chat_template")]
    public string? ChatTemplate { get; init; }

    [JsonExtensionData]
    public IDictionary<string, JsonElement>? Extra { get; init; }

    public static TokenizerConfig Load(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var path = Path.Combine(modelDirectory, FileName);
        try
        {
            return JsonSerializer.Deserialize<TokenizerConfig>(File.ReadAllText(path), Json.ModelJson.Options)
                ?? throw new InvalidDataException($"{path}: the file is empty.");
        }
        catch (JsonException e)
        {
            // A token given as an object ({"content": ...}) is the other shape HF writes; report it plainly.
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public void Save(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, FileName), JsonSerializer.Serialize(this, Json.ModelJson.Options));
    }
}
