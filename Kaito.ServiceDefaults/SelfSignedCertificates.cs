using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kaito.ServiceDefaults;

/// <summary>
/// A throw-away certificate authority and a server certificate it signs, for endpoints that must speak TLS where no
/// certificate is mounted: LocalCluster's API (kubectl only sends bearer tokens over TLS) and a locally run webhook.
/// Clients trust <see cref="Authority"/> (a kubeconfig's <c>certificate-authority-data</c>, a webhook's <c>caBundle</c>).
/// </summary>
public sealed class SelfSignedCertificates : IDisposable
{
    private SelfSignedCertificates(X509Certificate2 authority, X509Certificate2 server)
    {
        Authority = authority;
        Server = server;
    }

    /// <summary>The CA certificate, public part only.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The server certificate with its private key.</summary>
    public X509Certificate2 Server { get; }

    /// <summary>The CA in PEM, base64-encoded again as kubeconfigs and webhook configurations carry it.</summary>
    public string AuthorityPemBase64 => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(Authority.ExportCertificatePem()));

    /// <summary>Creates a CA named <paramref name="name"/> and a server certificate for the given DNS names and addresses.</summary>
    public static SelfSignedCertificates Create(string name, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(addresses);

        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.Add(lifetime);

        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest($"CN={name}-ca", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        authorityRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, false));
        using var authorityWithKey = authorityRequest.CreateSelfSigned(notBefore, notAfter.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={name}", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            san.AddDnsName(dns);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(
            X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authorityWithKey, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var serverPublic = serverRequest.Create(authorityWithKey, notBefore, notAfter, serial);
        using var serverWithKey = serverPublic.CopyWithPrivateKey(serverKey);

        // Round-trip through PKCS#12 so the key is usable by SslStream on every platform.
        var server = X509CertificateLoader.LoadPkcs12(serverWithKey.Export(X509ContentType.Pkcs12), password: null);
        var authority = X509CertificateLoader.LoadCertificate(authorityWithKey.Export(X509ContentType.Cert));
        return new SelfSignedCertificates(authority, server);
    }

    /// <summary>
    /// The certificates saved in <paramref name="directory"/> by <see cref="Save"/>, or null when none are (or they have
    /// expired). The folder is expected to be its owner's only.
    /// </summary>
    public static SelfSignedCertificates? Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var authorityPath = Path.Combine(directory, AuthorityFile);
        var serverPath = Path.Combine(directory, ServerFile);
        if (!File.Exists(authorityPath) || !File.Exists(serverPath))
        {
            return null;
        }

        var authority = X509Certificate2.CreateFromPem(File.ReadAllText(authorityPath));
        var server = X509CertificateLoader.LoadPkcs12FromFile(serverPath, password: null);
        if (server.NotAfter < DateTime.Now.AddDays(1) || authority.NotAfter < DateTime.Now.AddDays(1))
        {
            authority.Dispose();
            server.Dispose();
            return null;
        }

        return new SelfSignedCertificates(authority, server);
    }

    /// <summary>Writes the CA certificate and the server certificate with its key (readable by the owner only).</summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        OwnerOnlyFile.WriteAllBytes(Path.Combine(directory, ServerFile), Server.Export(X509ContentType.Pkcs12));
        OwnerOnlyFile.WriteAllBytes(Path.Combine(directory, AuthorityFile), System.Text.Encoding.ASCII.GetBytes(Authority.ExportCertificatePem()));
    }

    private const string AuthorityFile = "ca.crt";
    private const string ServerFile = "server.pfx";

    public void Dispose()
    {
        Authority.Dispose();
        Server.Dispose();
    }
}
