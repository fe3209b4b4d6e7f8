using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster;

/// <summary>
/// The one bearer token the cluster accepts: the configured one; else, with a data directory, the one kept there (made
/// once, so kubeconfigs survive a restart); else a random one per run.
/// </summary>
public sealed class ClusterCredentials(IOptions<LocalClusterOptions> options)
{
    public string Token { get; } = !string.IsNullOrWhiteSpace(options.Value.Token) ? options.Value.Token : Kept(options.Value.PkiDirectory);

    private static string Kept(string? pki)
    {
        if (pki is null)
        {
            return NewToken();
        }

        var path = Path.Combine(pki, "token");
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: >= 32 } kept)
        {
            return kept;
        }

        var token = NewToken();
        Kaito.ServiceDefaults.OwnerOnlyFile.CreateDirectory(pki);
        Kaito.ServiceDefaults.OwnerOnlyFile.WriteAllText(path, token);
        return token;
    }

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public bool Accepts(string? authorization)
    {
        const string Bearer = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = authorization.AsSpan(Bearer.Length).Trim();
        return CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented.ToString()),
            System.Text.Encoding.UTF8.GetBytes(Token));
    }
}
