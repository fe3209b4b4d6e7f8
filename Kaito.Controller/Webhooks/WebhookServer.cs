using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Kaito.ServiceDefaults.Resilience;
using k8s.Autorest;
using k8s.Models;
using Kaito.Operator.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// Serves <see cref="WorkspaceAdmission"/> over HTTPS on its own Kestrel listener (the API server only speaks TLS to
/// webhooks; health and metrics stay on the controller's plain endpoint) and, with <see cref="WebhookOptions.Register"/>,
/// writes the ValidatingWebhookConfiguration that points the API server at it.
/// </summary>
public sealed partial class WebhookServer(
    WorkspaceAdmission admission,
    ObjectClient client,
    IOptions<WebhookOptions> options,
    ILoggerFactory loggerFactory,
    ILogger<WebhookServer> logger) : IHostedService, IAsyncDisposable
{
    private readonly WebhookOptions _options = options.Value;
    private WebApplication? _app;
    private WebhookCertificate? _certificate;

    /// <summary>The port it listens on, once started.</summary>
    public int Port { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        _certificate = _options.CertificateSecret is { Length: > 0 }
            ? await WebhookCertificate.FromSecretAsync(client, _options, logger, cancellationToken)
            : WebhookCertificate.LoadOrGenerate(_options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Only where the API server reaches it: the pod's addresses behind a Service, else the address it is registered at.
            kestrel.Listen(_options.EffectiveListenAddress, _options.Port, listen => listen.UseHttps(_certificate.Serving));
            // An AdmissionReview carries the object and its old version; kube-apiserver's objects are at most 3 MiB.
            kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
        });
        _app = builder.Build();
        _app.MapPost(WebhookOptions.Path, (Delegate)ReviewAsync);
        await _app.StartAsync(cancellationToken);

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        LogListening(logger, Port, _options.CertificateSecret is { Length: > 0 } secret ? $"Secret {secret}" : _certificate.Generated ? "generated" : _options.CertificateDirectory);
        if (_options.Register)
        {
            await RegisterAsync(cancellationToken);
        }
    }

    private async Task<IResult> ReviewAsync(HttpContext context)
    {
        JsonObject? review;
        try
        {
            review = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
            if (review is null)
            {
                return Results.BadRequest(new { message = "the body is not an AdmissionReview object" });
            }

            return Results.Json(await admission.ReviewAsync(review, context.RequestAborted));
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException)
        {
            return Results.BadRequest(new { message = $"not an AdmissionReview: {ex.Message}" });
        }
    }

    /// <summary>The ValidatingWebhookConfiguration for this server (printed by <c>--print-webhook-configuration</c>).</summary>
    public static V1ValidatingWebhookConfiguration Configuration(WebhookOptions options, string caBundlePem, int port)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clientConfig = new Admissionregistrationv1WebhookClientConfig { CaBundle = Encoding.ASCII.GetBytes(caBundlePem) };
        if (options.Service?.Split('/') is [var ns, var name])
        {
            // the Service's port (which forwards to this server's), as the API server calls the Service
            clientConfig.Service = new Admissionregistrationv1ServiceReference { NamespaceProperty = ns, Name = name, Path = WebhookOptions.Path, Port = options.ServicePort };
        }
        else
        {
            clientConfig.Url = $"https://{options.Host}:{port}{WebhookOptions.Path}";
        }

        return new V1ValidatingWebhookConfiguration
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "ValidatingWebhookConfiguration",
            Metadata = new V1ObjectMeta { Name = options.ConfigurationName, Labels = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "kaito" } },
            Webhooks =
            [
                new V1ValidatingWebhook
                {
                    Name = options.ConfigurationName,
                    ClientConfig = clientConfig,
                    Rules =
                    [
                        new V1RuleWithOperations
                        {
                            ApiGroups = [Kaito.Api.KaitoGroup.Name],
                            ApiVersions = [Kaito.Api.KaitoGroup.V1Alpha1, Kaito.Api.KaitoGroup.V1Beta1],
                            Operations = ["CREATE", "UPDATE"],
                            Resources = [Kaito.Api.Workspaces.Workspace.Plural],
                            Scope = "Namespaced",
                        },
                    ],
                    FailurePolicy = "Fail",
                    SideEffects = "None",
                    AdmissionReviewVersions = ["v1"],
                    TimeoutSeconds = 10,
                },
            ],
        };
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var desired = Configuration(_options, _certificate!.CaBundlePem, Port);
        // the API server may still be starting: 30 tries over about three minutes
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.CreateOrReplaceAsync(desired, cancellationToken);
                var target = desired.Webhooks[0].ClientConfig.Url ?? $"service {_options.Service}";
                LogRegistered(logger, desired.Metadata.Name, target);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or HttpOperationException or InvalidOperationException && attempt < 30)
            {
                // the API server may still be starting, or another replica wrote it meanwhile (409)
                await backoff.DelayAsync(TimeProvider.System, cancellationToken);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _certificate?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Admission webhook listening on HTTPS port {Port} (certificate: {Certificate})")]
    private static partial void LogListening(ILogger logger, int port, string certificate);

    [LoggerMessage(Level = LogLevel.Information, Message = "ValidatingWebhookConfiguration {Name} points at {Target}")]
    private static partial void LogRegistered(ILogger logger, string name, string target);
}
