using System.Net;
using System.Security.Cryptography.X509Certificates;
using Kaito.ServiceDefaults;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// The webhook's serving certificate and the CA bundle the API server trusts it by: loaded from a mounted Secret's
/// <c>tls.crt</c>/<c>tls.key</c> (and <c>ca.crt</c>), or generated with <see cref="SelfSignedCertificates"/> — a CA and
/// a serving certificate it signs, valid for a year, for the webhook's host, the Service's DNS names and localhost.
/// </summary>
public sealed class WebhookCertificate : IDisposable
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
