using System.Security.Cryptography.X509Certificates;

namespace Kaito.InferenceServer.Security;

/// <summary>
/// The serving certificate from PEM files (a mounted <c>kubernetes.io/tls</c> Secret), loaded again when the files
/// change, so cert-manager's renewals apply to new connections without a restart.
/// </summary>
internal static class TlsCertificate
{
    private static readonly Lock s_gate = new();
    private static (DateTime Written, X509Certificate2 Certificate)? s_current;

    public static X509Certificate2 Current(string certificateFile, string keyFile)
    {
        lock (s_gate)
        {
            var written = File.GetLastWriteTimeUtc(certificateFile);
            if (s_current is { } current && current.Written == written)
            {
                return current.Certificate;
            }

            try
            {
                // Through PKCS#12 so the key is usable by SslStream on every platform.
                using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                var loaded = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
                s_current = (written, loaded);
                return loaded;
            }
            catch (Exception e) when (s_current is not null && e is IOException or System.Security.Cryptography.CryptographicException)
            {
                // Mid-rotation (certificate and key not yet both replaced): keep serving the one that worked.
                return s_current.Value.Certificate;
            }
        }
    }
}
