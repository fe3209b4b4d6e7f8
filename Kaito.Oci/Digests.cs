using System.Security.Cryptography;

namespace Kaito.Oci;

/// <summary>OCI content digests: <c>sha256:&lt;64 lowercase hex&gt;</c>, the only algorithm registries are required to serve.</summary>
public static class Digests
{
    private const string Prefix = "sha256:";

    public static string Of(ReadOnlySpan<byte> content) => Prefix + Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Of(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Prefix + Convert.ToHexStringLower(SHA256.HashData(content));
    }

    /// <summary>The digest of a file's bytes.</summary>
    public static string OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Of(stream);
    }

    /// <summary>Whether <paramref name="digest"/> is <c>sha256:</c> and 64 lowercase hex digits (safe as a file name).</summary>
    public static bool IsValid(string? digest) =>
        digest is { Length: 71 } && digest.StartsWith(Prefix, StringComparison.Ordinal) && digest.AsSpan(Prefix.Length).ContainsOnlyLowercaseHex();

    /// <summary>The hex part of a valid digest.</summary>
    public static string Hex(string digest) => IsValid(digest) ? digest[Prefix.Length..] : throw new ArgumentException($"'{digest}' is not a sha256 digest", nameof(digest));

    private static bool ContainsOnlyLowercaseHex(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
