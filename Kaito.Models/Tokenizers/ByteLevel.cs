using System.Text;
using System.Text.RegularExpressions;

namespace Kaito.Models.Tokenizers;

/// <summary>
/// GPT-2's byte-level alphabet: every byte maps to one printable character, so any UTF-8 text becomes a string BPE can
/// merge without unknown tokens. Also the GPT-2 pre-tokenizer that splits text into the words merges stay inside.
/// </summary>
public static partial class ByteLevel
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar
        .Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    /// <summary>The 256 single-byte tokens, in byte order.</summary>
    public static IReadOnlyList<string> Alphabet { get; } = [.. ByteToChar.Select(c => c.ToString())];

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            builder.Append(ByteToChar[b]);
        }

        return builder.ToString();
    }

    public static string Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

    /// <summary>Maps a token's characters back to bytes; characters outside the alphabet are encoded as UTF-8.</summary>
    public static void Decode(string token, List<byte> output)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var c in token)
        {
            if (CharToByte.TryGetValue(c, out var b))
            {
                output.Add(b);
            }
            else
            {
                output.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
    }

    /// <summary>GPT-2's pre-tokenization: contractions, letter runs, number runs, punctuation runs, whitespace.</summary>
    public static IEnumerable<string> PreTokenize(string text)
    {
        foreach (Match match in Gpt2Pattern().Matches(text))
        {
            yield return match.Value;
        }
    }

    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Pattern();

    private static char[] BuildByteToChar()
    {
        // Printable Latin-1 bytes keep their own character; the rest move to 256 + n, in byte order.
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
