using System.Net;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Kaito.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Kaito.Provisioner.Azure;

/// <summary>
/// A reply from ARM: status, the JSON body (null when there was none, or it was not JSON — a gateway's HTML error page —
/// whose start is kept in <see cref="Text"/>), and the headers long-running operations and throttling use.
/// </summary>
public sealed record ArmResponse(int Status, JsonObject? Body, string? AsyncOperation, string? Location, TimeSpan? RetryAfter, string? Text = null)
{
    /// <summary>ARM's error body: <c>{"error":{"code","message"}}</c>, or what was answered instead.</summary>
    public (string Code, string Message) Error =>
        (Body?["error"]?["code"] is JsonValue code && code.TryGetValue<string>(out var c) ? c : $"HTTP{Status}",
         Body?["error"]?["message"] is JsonValue message && message.TryGetValue<string>(out var m) ? m
         : Text is { Length: > 0 } ? $"a non-JSON answer: {Text}"
         : $"ARM answered HTTP {Status}");
}

/// <summary>
/// ARM REST through Azure.Core's HTTP pipeline: bearer tokens from an Azure.Identity credential (DefaultAzureCredential:
/// workload identity from <c>AZURE_CLIENT_ID</c>, <c>AZURE_TENANT_ID</c>, <c>AZURE_FEDERATED_TOKEN_FILE</c> in a pod),
/// the pipeline's retries for transient failures, and ARM's 429 <c>Retry-After</c> honoured before giving up.
/// </summary>
public sealed class ArmClient : IDisposable
{
    private readonly HttpPipeline _pipeline;
    private readonly HttpClient _http;

    public ArmClient(IOptions<AzureOptions> options)
        : this(options, null)
    {
    }

    /// <summary>With an explicit credential (tests); null builds DefaultAzureCredential from the options.</summary>
    public ArmClient(IOptions<AzureOptions> options, TokenCredential? credential)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        _http = new HttpClient(TrustedAuthorities.Handler(Options.TrustedCaFile is null ? null : TrustedAuthorities.FromPem(File.ReadAllText(Options.TrustedCaFile))),
            disposeHandler: true);
        var transport = new HttpClientTransport(_http);
        credential ??= Credential(Options, transport);
        var clientOptions = new ArmClientOptions { Transport = transport };
        clientOptions.Retry.MaxRetries = 3;
        clientOptions.Retry.Delay = TimeSpan.FromSeconds(1);
        _pipeline = HttpPipelineBuilder.Build(clientOptions, new BearerTokenAuthenticationPolicy(credential, Options.TokenScope));
    }

    public AzureOptions Options { get; }

    /// <summary>The ARM path of an agent pool of the configured cluster (all pools when <paramref name="pool"/> is null).</summary>
    public Uri AgentPool(string? pool) => new(Options.ArmEndpoint,
        $"/subscriptions/{Options.SubscriptionId}/resourceGroups/{Options.ResourceGroup}/providers/Microsoft.ContainerService/managedClusters/{Options.ClusterName}/agentPools" +
        (pool is null ? "" : $"/{pool}") + $"?api-version={Options.ApiVersion}");

    public async Task<ArmResponse> SendAsync(RequestMethod method, Uri uri, JsonObject? body, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var message = _pipeline.CreateMessage();
            message.Request.Method = method;
            message.Request.Uri.Reset(uri);
            message.Request.Headers.Add("Accept", "application/json");
            if (body is not null)
            {
                message.Request.Headers.Add("Content-Type", "application/json");
                message.Request.Content = RequestContent.Create(BinaryData.FromString(body.ToJsonString()));
            }

            await _pipeline.SendAsync(message, cancellationToken);
            var response = message.Response;
            var text = response.Content?.ToString();
            var json = Parse(text);
            var reply = new ArmResponse(response.Status, json,
                response.Headers.TryGetValue("Azure-AsyncOperation", out var operation) ? operation : null,
                response.Headers.TryGetValue("Location", out var location) ? location : null,
                response.Headers.TryGetValue("Retry-After", out var retry) && int.TryParse(retry, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                    ? TimeSpan.FromSeconds(seconds) : null,
                json is null && !string.IsNullOrWhiteSpace(text) ? text.Trim()[..Math.Min(200, text.Trim().Length)] : null);
            if (reply.Status != (int)HttpStatusCode.TooManyRequests || attempt >= 5)
            {
                return reply;
            }

            // Throttled: wait as ARM asks (capped), then try again.
            await Task.Delay(reply.RetryAfter is { } wait && wait < TimeSpan.FromMinutes(1) ? wait : TimeSpan.FromSeconds(10), cancellationToken);
        }
    }

    /// <summary>The body as a JSON object; null when empty or not JSON (proxies and gateways answer with HTML).</summary>
    private static JsonObject? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static DefaultAzureCredential Credential(AzureOptions options, HttpPipelineTransport transport)
    {
        var credentialOptions = new DefaultAzureCredentialOptions { Transport = transport, ExcludeInteractiveBrowserCredential = true };
        if (options.AuthorityHost is not null)
        {
            credentialOptions.AuthorityHost = options.AuthorityHost;
            credentialOptions.DisableInstanceDiscovery = true;
        }

        return new DefaultAzureCredential(credentialOptions);
    }

    public void Dispose() => _http.Dispose();

    private sealed class ArmClientOptions : ClientOptions;
}
