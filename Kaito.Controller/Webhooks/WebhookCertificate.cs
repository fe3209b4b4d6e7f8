using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Autorest;
using k8s.Models;
using Kaito.Operator.Client;
using Kaito.ServiceDefaults;
using Kaito.ServiceDefaults.Resilience;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// The webhook's serving certificate and the CA bundle the API server trusts it by: loaded from a mounted Secret's
/// <c>tls.crt</c>/<c>tls.key</c> (and <c>ca.crt</c>), or generated with <see cref="SelfSignedCertificates"/> — a CA and
/// a serving certificate it signs, valid for a year, for the webhook's host, the Service's DNS names and localhost.
/// </summary>
public sealed partial class WebhookCertificate : IDisposable
{
    private WebhookCertificate(X509Certificate2 serving, string caBundlePem, bool generated)
    {
        Serving = serving;
        CaBundlePem = caBundlePem;
        Generated = generated;
    }

    public X509Certificate2 Serving { get; }

    /// <summary>PEM of the certificate(s) that sign <see cref="Serving"/> (the caBundle, before base64).</summary>
    public string CaBundlePem { get; }

    public bool Generated { get; }

    public static WebhookCertificate LoadOrGenerate(WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var certificate = Path.Combine(options.CertificateDirectory, "tls.crt");
        var key = Path.Combine(options.CertificateDirectory, "tls.key");
        if (File.Exists(certificate) && File.Exists(key))
        {
            var serving = X509Certificate2.CreateFromPemFile(certificate, key);
            var authority = Path.Combine(options.CertificateDirectory, "ca.crt");
            return new WebhookCertificate(serving, File.Exists(authority) ? File.ReadAllText(authority) : File.ReadAllText(certificate), generated: false);
        }

        return Generate(options);
    }

    /// <summary>
    /// The certificate in <see cref="WebhookOptions.CertificateSecret"/>: used when it is there, valid for 30 more days
    /// and names the Service; otherwise generated and written to the Secret at the version read, so that when replicas
    /// start together one wins and the others re-read and take its certificate.
    /// </summary>
    public static async Task<WebhookCertificate> FromSecretAsync(ObjectClient client, WebhookOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (options.CertificateSecret?.Split('/') is not [{ Length: > 0 } ns, { Length: > 0 } name])
        {
            throw new InvalidOperationException($"Webhook:CertificateSecret '{options.CertificateSecret}' is not <namespace>/<name>");
        }

        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var secret = await client.GetAsync<V1Secret>(ns, name, cancellationToken)
                    ?? throw new InvalidOperationException($"Secret {ns}/{name} (Webhook:CertificateSecret) does not exist; the deployment creates it, empty, for the controller to fill");
                if (Usable(secret, options) is { } usable)
                {
                    return usable;
                }

                var generated = Generate(options);
                var data = new Dictionary<string, string>
                {
                    ["tls.crt"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(generated.Serving.ExportCertificatePem())),
                    ["tls.key"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(generated.Serving.GetECDsaPrivateKey()?.ExportPkcs8PrivateKeyPem() ?? generated.Serving.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem())),
                    ["ca.crt"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(generated.CaBundlePem)),
                };
                if ((await client.PatchAsync(secret, new { data }, conditional: true, cancellationToken)) == WriteResult.Conflict)
                {
                    // another replica wrote it first: read again and take theirs
                    generated.Dispose();
                    await backoff.DelayAsync(TimeProvider.System, cancellationToken);
                    continue;
                }

                LogWrote(logger, ns, name);
                return generated;
            }
            catch (Exception ex) when (ex is HttpRequestException or HttpOperationException && attempt < 30)
            {
                await backoff.DelayAsync(TimeProvider.System, cancellationToken);
            }
        }
    }

    private static WebhookCertificate? Usable(V1Secret secret, WebhookOptions options)
    {
        if (Field(secret, "tls.crt") is not { Length: > 0 } certificate || Field(secret, "tls.key") is not { Length: > 0 } key)
        {
            return null;
        }

        try
        {
            var serving = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(certificate), Encoding.ASCII.GetString(key));
            var service = options.Service?.Split('/') is [var ns, var name] ? $"{name}.{ns}.svc" : null;
            if (serving.NotAfter.ToUniversalTime() < DateTime.UtcNow.AddDays(30) || (service is not null && !serving.MatchesHostname(service)))
            {
                serving.Dispose();
                return null;
            }

            var authority = Field(secret, "ca.crt") is { Length: > 0 } ca ? Encoding.ASCII.GetString(ca) : Encoding.ASCII.GetString(certificate);
            return new WebhookCertificate(X509CertificateLoader.LoadPkcs12(serving.Export(X509ContentType.Pkcs12), null), authority, generated: false);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null; // damaged: replaced
        }
    }

    private static byte[]? Field(V1Secret secret, string key) => secret.Data is { } data && data.TryGetValue(key, out var value) ? value : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote a new webhook serving certificate to Secret {Namespace}/{Name}")]
    private static partial void LogWrote(ILogger logger, string @namespace, string name);

    private static WebhookCertificate Generate(WebhookOptions options)
    {
        var dnsNames = new List<string> { "localhost" };
        var addresses = new List<IPAddress> { IPAddress.Loopback };
        if (IPAddress.TryParse(options.Host, out var address))
        {
            addresses.Add(address);
        }
        else
        {
            dnsNames.Add(options.Host);
        }

        if (options.Service?.Split('/') is [var ns, var name])
        {
            dnsNames.AddRange([$"{name}.{ns}.svc", $"{name}.{ns}.svc.cluster.local"]);
        }

        using var generated = SelfSignedCertificates.Create("kaito-webhook", dnsNames.Distinct(), addresses.Distinct(), TimeSpan.FromDays(365));
        return new WebhookCertificate(X509CertificateLoader.LoadPkcs12(generated.Server.Export(X509ContentType.Pkcs12), null),
            generated.Authority.ExportCertificatePem(), generated: true);
    }

    public void Dispose() => Serving.Dispose();
}
