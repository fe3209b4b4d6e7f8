using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using k8s;

namespace Kaito.Testing;

/// <summary>A plain HttpClient for a kubeconfig (its server, CA and token), to see exactly what goes over the wire.</summary>
public static class RawApi
{
    public static HttpClient Create(string kubeconfig)
    {
        var configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        var authorities = configuration.SslCaCerts ?? [];
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == System.Net.Security.SslPolicyErrors.None)
                {
                    return true;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri(configuration.Host) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", configuration.AccessToken);
        return client;
    }
}
