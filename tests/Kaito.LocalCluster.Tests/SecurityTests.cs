using System.Globalization;
using System.Net;
using k8s;
using k8s.Models;
using Kaito.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Kaito.LocalCluster.Tests;

/// <summary>
/// What a security review found in LocalCluster: a world-readable data directory, a bearer token accepted in clear text,
/// a webhook client that followed redirects, and a bad caBundle that escaped <c>failurePolicy: Ignore</c>.
/// </summary>
public sealed class SecurityTests
{
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task TheDataDirectoryAndItsSecretsAreTheOwnersOnlyAndAKubeconfigSurvivesARestart()
    {
        await using var cluster = await LocalClusterProcess.StartDurableAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "kept" }, StringData = new Dictionary<string, string> { ["k"] = "v" } }, "default");
        var data = Path.Combine(Path.GetDirectoryName(cluster.Kubeconfig)!, "data");

        cluster.Kill();
        await cluster.RestartAsync();
        using var sameKubeconfig = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        var kept = await sameKubeconfig.CoreV1.ReadNamespacedSecretAsync("kept", "default");

        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(kept.Data["k"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(data, "pki")));
        foreach (var file in new[] { "cluster.db", "pki/token", "pki/server.pfx" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, file)));
        }
    }

    [Fact]
    public async Task APlainHttpListenerAnswersHealthButRefusesTheApiEvenWithTheRightToken()
    {
        var folder = Directory.CreateTempSubdirectory("kaito-local-cluster-http-").FullName;
        var (tls, plain) = (Ports.Free(), Ports.Free());
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        await using var process = ServiceProcess.Start("Kaito.LocalCluster", folder,
            ["--urls", $"https://127.0.0.1:{tls};http://127.0.0.1:{plain}", "--kubeconfig", kubeconfig]);
        await Eventually.TrueAsync(() => File.Exists(kubeconfig), TimeSpan.FromSeconds(60));
        var token = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig).AccessToken;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{plain}") };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var health = await http.GetAsync("/healthz");
        using var api = await http.GetAsync("/api/v1/namespaces");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, api.StatusCode);
        Assert.Contains("served over TLS only", await api.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWebhookThatRedirectsIsNotFollowedAndFailsTheWrite()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var followed = 0;
        await using var webhook = await WebhookAsync(app =>
        {
            app.MapPost("/validate", () => Results.Redirect("/elsewhere", permanent: false, preserveMethod: true));
            app.MapPost("/elsewhere", () =>
            {
                Interlocked.Increment(ref followed);
                return Results.Json(new { apiVersion = "admission.k8s.io/v1", kind = "AdmissionReview", response = new { allowed = true } });
            });
        });
        await RegisterAsync(cluster, "redirecting", $"{webhook.Url}/validate", webhook.CaBundle, "Fail");

        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => CreateConfigMapAsync(cluster, "through-a-redirect"));

        Assert.Contains("a redirect, which is not followed", refused.Response.Content, StringComparison.Ordinal);
        Assert.Equal(0, followed);
    }

    [Theory]
    [InlineData("Ignore", true)]
    [InlineData("Fail", false)]
    public async Task AnUnusableCaBundleFollowsTheFailurePolicy(string policy, bool admitted)
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        await RegisterAsync(cluster, $"bad-ca-{policy.ToLowerInvariant()}", "https://127.0.0.1:1/validate", "bm90IGEgY2VydGlmaWNhdGU=", policy);

        var created = await Record.ExceptionAsync(() => CreateConfigMapAsync(cluster, "with-a-bad-ca"));
        var stillServing = await cluster.Client.CoreV1.ListNamespaceAsync();

        Assert.Equal(admitted, created is null);
        Assert.NotEmpty(stillServing.Items);
    }

    private static Task<V1ConfigMap> CreateConfigMapAsync(LocalClusterProcess cluster, string name) =>
        cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name } }, "default");

    private static async Task RegisterAsync(LocalClusterProcess cluster, string name, string url, string caBundle, string policy) =>
        await cluster.Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(new V1ValidatingWebhookConfiguration
        {
            Metadata = new V1ObjectMeta { Name = name },
            Webhooks =
            [
                new V1ValidatingWebhook
                {
                    Name = $"{name}.kaito.sh",
                    ClientConfig = new Admissionregistrationv1WebhookClientConfig { Url = url, CaBundle = Convert.FromBase64String(caBundle) },
                    Rules = [new V1RuleWithOperations { ApiGroups = [""], ApiVersions = ["v1"], Operations = ["CREATE"], Resources = ["configmaps"] }],
                    FailurePolicy = policy,
                    SideEffects = "None",
                    AdmissionReviewVersions = ["v1"],
                },
            ],
        });

    private static async Task<WebhookServer> WebhookAsync(Action<WebApplication> map)
    {
        var certificates = Kaito.ServiceDefaults.SelfSignedCertificates.Create("webhook", ["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        var port = Ports.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(certificates.Server)));
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new WebhookServer(app, certificates, $"https://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
    }

    private sealed record WebhookServer(WebApplication App, Kaito.ServiceDefaults.SelfSignedCertificates Certificates, string Url) : IAsyncDisposable
    {
        public string CaBundle => Certificates.AuthorityPemBase64;

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            Certificates.Dispose();
        }
    }
}
