using System.Net.Http.Headers;
using System.Text;
using Azure.Core;
using Kaito.ModelPuller;
using Kaito.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// The puller logging in to an Azure Container Registry with an Azure identity, as ACR documents it (its
/// <c>/oauth2/exchange</c> and <c>/oauth2/token</c> endpoints), against a front that implements that contract —
/// errors included — before the real docker-registry holding the model, because ACR cannot run here. The Entra ID
/// token comes from a static credential, as Azure.Identity's workload identity would hand it over.
/// </summary>
public sealed class AcrTests(PushedModelFixture fixture) : IClassFixture<PushedModelFixture>, IAsyncLifetime
{
    private const string EntraToken = "entra-token-for-acr";
    private readonly string _target = Directory.CreateTempSubdirectory("kaito-acr-").FullName;
    private WebApplication _acr = null!;
    private string _registry = null!;
    private readonly List<string> _scopes = [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var port = Ports.Free();
        _registry = $"127.0.0.1:{port}";
        builder.WebHost.UseUrls($"http://{_registry}");
        builder.Logging.ClearProviders();
        _acr = builder.Build();
        var backend = new HttpClient { BaseAddress = new Uri($"http://{fixture.Registry.Address}/") };
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{fixture.Registry.User}:{fixture.Registry.Password}"));
        _acr.MapPost("/oauth2/exchange", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            return form["grant_type"] == "access_token" && form["service"] == _registry && form["access_token"] == EntraToken
                ? Results.Json(new { refresh_token = "acr-refresh-token" })
                : Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "the access token is not valid for this registry" } } }, statusCode: 401);
        });
        _acr.MapGet("/oauth2/token", (HttpContext context) =>
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AcrIdentity.TokenUser}:acr-refresh-token"));
            return context.Request.Headers.Authorization == expected && context.Request.Query["service"] == _registry
                ? Results.Json(new { access_token = "acr-access-token" })
                : Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "authentication required" } } }, statusCode: 401);
        });
        _acr.Map("/v2/{**path}", async (HttpContext context, string? path) =>
        {
            if (context.Request.Headers.Authorization != "Bearer acr-access-token")
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"http://{_registry}/oauth2/token\",service=\"{_registry}\"";
                return;
            }

            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), $"v2/{path}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
            foreach (var accept in context.Request.Headers.Accept)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            if (context.Request.Headers.Range.FirstOrDefault() is { } range)
            {
                request.Headers.TryAddWithoutValidation("Range", range);
            }

            using var response = await backend.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            context.Response.ContentLength = response.Content.Headers.ContentLength;
            await response.Content.CopyToAsync(context.Response.Body);
        });
        await _acr.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _acr.StopAsync();
        await _acr.DisposeAsync();
        Directory.Delete(_target, recursive: true);
    }

    [Fact]
    public async Task TheAzureIdentitysTokenIsExchangedForTheRegistrysAndThePullSucceeds()
    {
        var digest = await PullAsync(EntraToken);

        Assert.StartsWith("sha256:", digest, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fixture.Model, "model.safetensors")), await File.ReadAllBytesAsync(Path.Combine(_target, "model.safetensors")));
        Assert.Equal([AcrIdentity.Scope], _scopes);
    }

    [Fact]
    public async Task ARefusedIdentityNamesTheRegistryAndTheRoleItNeeds()
    {
        var error = await Assert.ThrowsAsync<Kaito.Oci.RegistryException>(() => PullAsync("a-token-for-something-else"));

        Assert.Contains($"registry {_registry} refused the Azure identity's token at /oauth2/exchange (401): does the identity have AcrPull on it? the access token is not valid for this registry",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyAzureContainerRegistriesGetTheIdentitysToken()
    {
        var identity = new AcrIdentity(new HttpClient(), new StaticCredential(EntraToken, _scopes), "acr.internal.example:443", NullLogger<AcrIdentity>.Instance);

        Assert.NotNull(identity.For(Oci.ImageReference.Parse("myregistry.azurecr.io/kaito-phi-4:0.2.0"), plainHttp: false));
        Assert.NotNull(identity.For(Oci.ImageReference.Parse("acr.internal.example:443/kaito-phi-4:0.2.0"), plainHttp: false));
        Assert.Null(identity.For(Oci.ImageReference.Parse("ghcr.io/someone/kaito-phi-4:0.2.0"), plainHttp: false));
        Assert.Null(identity.For(Oci.ImageReference.Parse("evil.azurecr.io.example.com/kaito-phi-4:0.2.0"), plainHttp: false));
    }

    private async Task<string> PullAsync(string entraToken)
    {
        using var http = new HttpClient();
        var identity = new AcrIdentity(http, new StaticCredential(entraToken, _scopes), _registry, NullLogger<AcrIdentity>.Instance);
        var pull = new ModelPull(http, identity, NullLogger<ModelPull>.Instance);
        return await pull.RunAsync(new PullerOptions { Image = $"{_registry}/kaito-kaito-tiny:0.1.0", Target = _target, Cache = "" }, CancellationToken.None);
    }

    /// <summary>An Entra ID token as a credential hands it over, recording the scopes asked for.</summary>
    private sealed class StaticCredential(string token, List<string> scopes) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            scopes.AddRange(requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
