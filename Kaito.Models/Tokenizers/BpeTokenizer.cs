using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.Models.Tokenizers;

/// <summary>
/// A byte-level BPE tokenizer read from (and written as) a Hugging Face <c>tokenizer.json</c>: vocabulary, ranked
/// merges and special (added) tokens. Encoding splits out special tokens, pre-tokenizes as GPT-2 does, maps bytes to
/// the byte-level alphabet and applies merges by rank — the same algorithm ONNX Runtime GenAI's tokenizer runs on the
/// same file, so the tuner and the server agree on token ids.
/// </summary>
public sealed class BpeTokenizer
{
    public const string FileName = "tokenizer.json";

    private readonly Dictionary<string, int> _vocabulary;
    private readonly string[] _tokens;
    private readonly Dictionary<(string Left, string Right), int> _mergeRanks;
    private readonly Dictionary<string, int> _special;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeTokenizer(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int> specialTokens)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(specialTokens);
        _vocabulary = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        _special = new Dictionary<string, int>(specialTokens, StringComparer.Ordinal);
        // Real vocabularies stay far below this; an id beyond it (or negative) is a broken or hostile file.
        const int MaxId = 16 * 1024 * 1024;
        if (_vocabulary.Concat(_special).FirstOrDefault(t => t.Value is < 0 or >= MaxId) is { Key: { } bad, Value: var badId })
        {
            throw new InvalidDataException($"token '{bad}' has id {badId}; ids must be between 0 and {MaxId - 1}");
        }

        var size = Math.Max(_vocabulary.Values.DefaultIfEmpty(-1).Max(), _special.Values.DefaultIfEmpty(-1).Max()) + 1;
        _tokens = new string[size];
        foreach (var (token, id) in _vocabulary)
        {
            _tokens[id] = token;
        }

        foreach (var (token, id) in _special)
        {
            _tokens[id] = token;
        }

        _mergeRanks = [];
        for (var rank = 0; rank < merges.Count; rank++)
        {
            _mergeRanks.TryAdd(merges[rank], rank);
        }

        Merges = merges;
    }

    /// <summary>Number of ids (the largest id + 1).</summary>
    public int VocabularySize => _tokens.Length;

    public IReadOnlyDictionary<string, int> Vocabulary => _vocabulary;

    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    public int? IdOf(string token) =>
        _special.TryGetValue(token, out var id) || _vocabulary.TryGetValue(token, out id) ? id : null;

    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var start = 0;
        while (start < text.Length)
        {
            var (specialAt, special) = FindSpecial(text, start);
            var end = specialAt < 0 ? text.Length : specialAt;
            if (end > start)
            {
                EncodeOrdinary(text[start..end], ids);
            }

            if (specialAt < 0)
            {
                break;
            }

            ids.Add(_special[special!]);
            start = specialAt + special!.Length;
        }

        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id < 0 || id >= _tokens.Length || _tokens[id] is null)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in the vocabulary.");
            }

            if (_special.ContainsKey(_tokens[id]))
            {
                if (!skipSpecialTokens)
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(_tokens[id]));
                }

                continue;
            }

            ByteLevel.Decode(_tokens[id], bytes);
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    public static BpeTokenizer Load(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var path = Path.Combine(modelDirectory, FileName);
        try
        {
            var root = Json.JsonFields.ParseObject(File.ReadAllBytes(path), "the file");
            var model = root["model"]?.AsObject() ?? throw new InvalidDataException("'model' is missing");
            var type = model["type"]?.GetValue<string>();
            if (type != "BPE")
            {
                throw new InvalidDataException($"model.type is '{type}'; only byte-level BPE tokenizers are supported");
            }

            var vocabulary = model["vocab"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>(), StringComparer.Ordinal);
            var merges = model["merges"]!.AsArray().Select((m, i) => ParseMerge(m, i)).ToList();
            var special = (root["added_tokens"]?.AsArray() ?? [])
                .Select(t => t!.AsObject())
                .ToDictionary(t => t["content"]!.GetValue<string>(), t => t["id"]!.GetValue<int>(), StringComparer.Ordinal);
            return new BpeTokenizer(vocabulary, merges, special);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or KeyNotFoundException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}.", e);
        }
    }

    /// <summary>Writes a Hugging Face <c>tokenizer.json</c> with a ByteLevel pre-tokenizer and decoder.</summary>
    public void Save(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var vocab = new JsonObject();
        foreach (var (token, id) in _vocabulary.OrderBy(p => p.Value))
        {
            vocab[token] = id;
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. _special.OrderBy(p => p.Value).Select(p => (JsonNode)new JsonObject
            {
                ["id"] = p.Value,
                ["content"] = p.Key,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            })]),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "ByteLevel",
                ["add_prefix_space"] = false,
                ["trim_offsets"] = true,
                ["use_regex"] = true,
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject
            {
                ["type"] = "ByteLevel",
                ["add_prefix_space"] = false,
                ["trim_offsets"] = true,
                ["use_regex"] = true,
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. Merges.Select(m => (JsonNode)$"{m.Left} {m.Right}")]),
            },
        };
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, FileName), root.ToJsonString(Json.ModelJson.Options));
    }

    private (int Index, string? Token) FindSpecial(string text, int start)
    {
        var best = -1;
        string? bestToken = null;
        foreach (var token in _special.Keys)
        {
            var index = text.IndexOf(token, start, StringComparison.Ordinal);
            if (index >= 0 && (best < 0 || index < best || (index == best && token.Length > bestToken!.Length)))
            {
                best = index;
                bestToken = token;
            }
        }

        return (best, bestToken);
    }

    private void EncodeOrdinary(string text, List<int> ids)
    {
        foreach (var word in ByteLevel.PreTokenize(text))
        {
            if (!_cache.TryGetValue(word, out var wordIds))
            {
                wordIds = [.. Bpe(ByteLevel.Encode(word)).Select(piece => _vocabulary.TryGetValue(piece, out var id)
                    ? id
                    : throw new InvalidOperationException($"The byte-level piece '{piece}' is not in the vocabulary."))];
                if (_cache.Count < 100_000)
                {
                    _cache[word] = wordIds;
                }
            }

            ids.AddRange(wordIds);
        }
    }

    /// <summary>Repeatedly merges the adjacent pair with the lowest rank, as BPE defines.</summary>
    internal List<string> Bpe(string word)
    {
        var parts = word.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            var bestRank = int.MaxValue;
            var bestAt = -1;
            for (var i = 0; i < parts.Count - 1; i++)
            {
                if (_mergeRanks.TryGetValue((parts[i], parts[i + 1]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    bestAt = i;
                }
            }

            if (bestAt < 0)
            {
                break;
            }

            var (left, right) = Merges[bestRank];
            // Merge every occurrence of the best pair in one pass, left to right.
            var merged = new List<string>(parts.Count);
            for (var i = 0; i < parts.Count; i++)
            {
                if (i < parts.Count - 1 && parts[i] == left && parts[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else
                {
                    merged.Add(parts[i]);
                }
            }

            parts = merged;
        }

        return parts;
    }

    private static (string, string) ParseMerge(JsonNode? node, int index)
    {
        if (node is JsonArray pair && pair.Count == 2)
        {
            return (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>());
        }

        var text = node?.GetValue<string>() ?? "";
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        return space > 0
            ? (text[..space], text[(space + 1)..])
            : throw new InvalidDataException($"model.merges[{index}] '{text}' is not two tokens separated by a space");
    }
}
