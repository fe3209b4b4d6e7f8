using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster;

/// <summary>A user the API server authenticated: its name and groups, as kube-apiserver's <c>user.Info</c>.</summary>
public sealed record ClusterUser(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>The kubeconfig's holder: <c>system:masters</c>, allowed everything.</summary>
    public static ClusterUser Admin { get; } = new("kubernetes-admin", ["system:masters", "system:authenticated"]);

    /// <summary>A request nobody authenticated: RBAC allows it nothing.</summary>
    public static ClusterUser Anonymous { get; } = new("system:anonymous", ["system:unauthenticated"]);

    public bool IsAdmin => Groups.Contains("system:masters");

    /// <summary>The service account's <c>(namespace, name)</c> when this is one.</summary>
    public (string Namespace, string Name)? ServiceAccount =>
        Name.Split(':') is ["system", "serviceaccount", var ns, var name] ? (ns, name) : null;
}

/// <summary>
/// Service account tokens as kube-apiserver issues them for pods: JWTs with the <c>kubernetes.io</c> claims naming the
/// namespace and the service account (and its uid), signed by the cluster (HMAC-SHA256 with a key kept in the PKI folder,
/// or made per run), expiring. A token is accepted while it is unexpired, its signature holds and its service account
/// still exists with the same uid — deleting the account revokes its tokens, as the real API server checks.
/// </summary>
public sealed class ServiceAccountTokens
{
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";
    private readonly byte[] _key;
    private readonly ClusterStore _store;
    private readonly TimeProvider _clock;

    public ServiceAccountTokens(IOptions<LocalClusterOptions> options, ClusterStore store, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _clock = clock;
        _key = Kept(options.Value.PkiDirectory);
    }

    /// <summary>A token for <paramref name="serviceAccount"/> (a stored ServiceAccount object), valid for <paramref name="lifetime"/>.</summary>
    public string Issue(JsonObject serviceAccount, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(serviceAccount);
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        var ns = Objects.Namespace(serviceAccount);
        var name = Objects.Name(serviceAccount);
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["aud"] = new JsonArray(Issuer),
            ["sub"] = $"system:serviceaccount:{ns}:{name}",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + (long)lifetime.TotalSeconds,
            ["kubernetes.io"] = new JsonObject
            {
                ["namespace"] = ns,
                ["serviceaccount"] = new JsonObject { ["name"] = name, ["uid"] = Objects.Uid(serviceAccount) },
            },
        };
        var signed = $"{Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8)}.{Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()))}";
        return $"{signed}.{Base64Url(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(signed)))}";
    }

    /// <summary>The service account a bearer token stands for, or null when it is not one of ours, expired or revoked.</summary>
    public ClusterUser? Authenticate(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length > 8192 || token.Split('.') is not [var header, var payload, var signature])
        {
            return null;
        }

        try
        {
            var expected = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes($"{header}.{payload}"));
            if (!CryptographicOperations.FixedTimeEquals(expected, FromBase64Url(signature)))
            {
                return null;
            }

            var claims = JsonNode.Parse(FromBase64Url(payload))!.AsObject();
            var now = _clock.GetUtcNow().ToUnixTimeSeconds();
            if ((long?)claims["exp"] is not { } exp || exp <= now || (long?)claims["nbf"] > now)
            {
                return null;
            }

            var ns = (string?)claims["kubernetes.io"]?["namespace"];
            var name = (string?)claims["kubernetes.io"]?["serviceaccount"]?["name"];
            var uid = (string?)claims["kubernetes.io"]?["serviceaccount"]?["uid"];
            if (ns is null || name is null || _store.Get(new ObjectKey(Kinds.ServiceAccount.GroupResource, ns, name)) is not { } account || Objects.Uid(account) != uid)
            {
                return null;
            }

            return new ClusterUser($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"]);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static byte[] Kept(string? pki)
    {
        if (pki is null)
        {
            return RandomNumberGenerator.GetBytes(32);
        }

        var path = Path.Combine(pki, "service-account.key");
        if (File.Exists(path) && Convert.FromHexString(File.ReadAllText(path).Trim()) is { Length: 32 } kept)
        {
            return kept;
        }

        var key = RandomNumberGenerator.GetBytes(32);
        Kaito.ServiceDefaults.OwnerOnlyFile.CreateDirectory(pki);
        Kaito.ServiceDefaults.OwnerOnlyFile.WriteAllText(path, Convert.ToHexStringLower(key));
        return key;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
    }
}
