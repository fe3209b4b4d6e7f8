using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Kaito.ServiceDefaults;

/// <summary>
/// Trusting a private CA for one client, as a kubeconfig's <c>certificate-authority-data</c> or a webhook's
/// <c>caBundle</c> asks: the system's roots still count, and a server certificate that chains to one of the given
/// authorities (with a matching name) is accepted too.
/// </summary>
public static class TrustedAuthorities
{
    /// <summary>
    /// An HTTP handler trusting <paramref name="authorities"/> besides the system roots (none: the system's only). It
    /// follows no redirects: the clients it serves (webhook calls, ARM) are answered where they asked, as kube-apiserver's
    /// webhook client is, and a redirect must not carry their request (or credentials) elsewhere.
    /// </summary>
    public static SocketsHttpHandler Handler(X509Certificate2Collection? authorities)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false };
        if (authorities is { Count: > 0 })
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Validate(authorities, certificate, errors);
        }

        return handler;
    }

    /// <summary>The certificates of a PEM text (one or more <c>CERTIFICATE</c> blocks).</summary>
    public static X509Certificate2Collection FromPem(string pem)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPem(pem);
        return authorities;
    }

    private static bool Validate(X509Certificate2Collection authorities, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    }
}
