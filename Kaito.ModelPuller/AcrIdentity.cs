using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using Kaito.Oci;

namespace Kaito.ModelPuller;

/// <summary>Credentials a registry gets from who the puller runs as, when no pull secret names it.</summary>
public interface IRegistryIdentity
{
    /// <summary>A source of credentials for <paramref name="image"/>'s registry, or null when this identity has none for it.</summary>
    Func<CancellationToken, Task<(string User, string Password)?>>? For(ImageReference image, bool plainHttp);
}

/// <summary>
/// Azure Container Registry with the pod's or the node's Azure identity, as <c>az acr login</c> does it: an Entra ID
/// token for <c>https://containerregistry.azure.net/.default</c> (workload identity when the pod has a federated token,
/// else the node's managed identity), exchanged at the registry's <c>/oauth2/exchange</c> (<c>grant_type=access_token</c>)
/// for an ACR refresh token, which then logs in as the user <c>00000000-0000-0000-0000-000000000000</c> through the
/// registry's usual token flow. Used for <c>*.azurecr.io</c> (and the sovereign clouds' suffixes) and the registries
/// named in <c>--acr-registries</c> (an ACR behind its own DNS name); never for others, so no token leaves for a registry
/// that is not Azure's.
/// </summary>
public sealed partial class AcrIdentity(HttpClient http, TokenCredential credential, string? extraRegistries, ILogger<AcrIdentity> logger) : IRegistryIdentity
{
    /// <summary>The user name ACR expects with a refresh token.</summary>
    public const string TokenUser = "00000000-0000-0000-0000-000000000000";

    public const string Scope = "https://containerregistry.azure.net/.default";

    private static readonly string[] s_suffixes = [".azurecr.io", ".azurecr.cn", ".azurecr.us"];

    /// <summary>The pod's workload identity when it has one, else the node's managed identity (<c>AZURE_CLIENT_ID</c> picks a user-assigned one).</summary>
    public static TokenCredential DefaultCredential() =>
        Environment.GetEnvironmentVariable("AZURE_FEDERATED_TOKEN_FILE") is { Length: > 0 }
            ? new WorkloadIdentityCredential()
            : new ManagedIdentityCredential(Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") is { Length: > 0 } clientId
                ? ManagedIdentityId.FromUserAssignedClientId(clientId)
                : ManagedIdentityId.SystemAssigned);

    public bool IsAcr(string registry)
    {
        var host = registry.Split(':')[0];
        return s_suffixes.Any(s => host.EndsWith(s, StringComparison.OrdinalIgnoreCase))
            || (extraRegistries ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(registry, StringComparer.OrdinalIgnoreCase);
    }

    public Func<CancellationToken, Task<(string User, string Password)?>>? For(ImageReference image, bool plainHttp)
    {
        ArgumentNullException.ThrowIfNull(image);
        return IsAcr(image.Registry) ? cancellationToken => ExchangeAsync(image, plainHttp, cancellationToken) : null;
    }

    private async Task<(string User, string Password)?> ExchangeAsync(ImageReference image, bool plainHttp, CancellationToken cancellationToken)
    {
        AccessToken entra;
        try
        {
            entra = await credential.GetTokenAsync(new TokenRequestContext([Scope]), cancellationToken);
        }
        catch (AuthenticationFailedException e)
        {
            throw new RegistryException(RegistryFailure.Unauthorized,
                $"registry {image.Registry} is an Azure Container Registry and no Azure identity is available to log in to it (add an image pull secret, or give the pod a workload identity): {e.Message}", e);
        }

        var scheme = plainHttp || image.IsLoopbackRegistry ? "http" : "https";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{scheme}://{image.Registry}/oauth2/exchange")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "access_token",
                ["service"] = image.Registry,
                ["access_token"] = entra.Token,
            }),
        };
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new RegistryException(RegistryFailure.Unauthorized,
                    $"registry {image.Registry} refused the Azure identity's token at /oauth2/exchange ({(int)response.StatusCode}): does the identity have AcrPull on it? {Detail(body)}");
            }

            var refresh = (string?)JsonNode.Parse(body)?["refresh_token"]
                ?? throw new RegistryException(RegistryFailure.Unauthorized, $"registry {image.Registry}'s /oauth2/exchange returned no refresh_token");
            LogExchanged(logger, image.Registry);
            return (TokenUser, refresh);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RegistryException(RegistryFailure.Unreachable, $"registry {image.Registry}'s /oauth2/exchange failed: {e.Message}", e);
        }
    }

    private static string Detail(string body)
    {
        try
        {
            return (string?)JsonNode.Parse(body)?["errors"]?[0]?["message"] ?? body;
        }
        catch (JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Logged in to {Registry} with the Azure identity (ACR token exchange)")]
    private static partial void LogExchanged(ILogger logger, string registry);
}
