namespace Kaito.Models.Tokenizers;

/// <summary>
/// Learns byte-level BPE merges from a text: counts adjacent pairs inside pre-tokenized words and merges the most
/// frequent one until the vocabulary is full. Ties break on the pair's ordinal order, so the result is deterministic.
/// </summary>
public static class BpeTrainer
{
    public static BpeTokenizer Train(string corpus, int vocabularySize, IReadOnlyList<string> specialTokens)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(specialTokens);
        var alphabet = ByteLevel.Alphabet;
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, alphabet.Count + specialTokens.Count);

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in alphabet)
        {
            vocabulary[token] = vocabulary.Count;
        }

        var words = ByteLevel.PreTokenize(corpus)
            .GroupBy(w => w, StringComparer.Ordinal)
            .Select(g => (Parts: ByteLevel.Encode(g.Key).Select(c => c.ToString()).ToList(), Count: g.Count()))
            .ToList();

        var merges = new List<(string, string)>();
        var mergeBudget = vocabularySize - alphabet.Count - specialTokens.Count;
        while (merges.Count < mergeBudget)
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var (parts, count) in words)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    var pair = (parts[i], parts[i + 1]);
                    counts[pair] = counts.GetValueOrDefault(pair) + count;
                }
            }

            if (counts.Count == 0)
            {
                break;
            }

            var best = counts
                .OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal)
                .ThenBy(p => p.Key.Item2, StringComparer.Ordinal)
                .First().Key;
            merges.Add(best);
            vocabulary.TryAdd(best.Item1 + best.Item2, vocabulary.Count);
            foreach (var (parts, _) in words)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] = best.Item1 + best.Item2;
                        parts.RemoveAt(i + 1);
                    }
                }
            }
        }

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in specialTokens)
        {
            special[token] = vocabulary.Count + special.Count;
        }

        return new BpeTokenizer(vocabulary, merges, special);
    }
}
