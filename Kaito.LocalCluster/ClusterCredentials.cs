using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster;

/// <summary>The one bearer token this run accepts: the configured one, or a random one.</summary>
public sealed class ClusterCredentials(IOptions<LocalClusterOptions> options)
{
    public string Token { get; } = string.IsNullOrWhiteSpace(options.Value.Token)
        ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))
        : options.Value.Token;

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
