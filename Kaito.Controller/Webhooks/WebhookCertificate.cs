using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// The webhook's serving certificate and the CA bundle the API server trusts it by: loaded from a mounted Secret's
/// <c>tls.crt</c>/<c>tls.key</c> (and <c>ca.crt</c>), or generated — a CA valid for a year and a serving certificate
/// it signs for the webhook's host, the Service's DNS names and localhost.
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
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=kaito-webhook-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kaito-webhook", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        if (IPAddress.TryParse(options.Host, out var address))
        {
            if (!address.Equals(IPAddress.Loopback))
            {
                names.AddIpAddress(address);
            }
        }
        else if (options.Host != "localhost")
        {
            names.AddDnsName(options.Host);
        }

        if (options.Service?.Split('/') is [var ns, var name])
        {
            names.AddDnsName($"{name}.{ns}.svc");
            names.AddDnsName($"{name}.{ns}.svc.cluster.local");
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = request.Create(ca, now.AddMinutes(-5), now.AddYears(1), serial);
        using var withKey = signed.CopyWithPrivateKey(key);
        // Kestrel needs the key in a form the platform's TLS stack accepts: round-trip through PKCS#12.
        var serving = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return new WebhookCertificate(serving, ca.ExportCertificatePem(), generated: true);
    }

    public void Dispose() => Serving.Dispose();
}
