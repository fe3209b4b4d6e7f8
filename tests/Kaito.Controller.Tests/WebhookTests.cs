using k8s;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>
/// The controller's admission webhook registered in LocalCluster: kubectl applies of invalid workspaces are refused
/// with KAITO's messages, valid ones pass, and updates are checked against the old object.
/// </summary>
public sealed class WebhookTests(ControllerFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ControllerFixture>
{
    private static readonly string[] s_fuzzSeeds =
    [
        "examples/inference/kaito_workspace_phi_4_mini.yaml", "examples/fine-tuning/kaito_workspace_tuning_phi_3.yaml",
        "examples/inference/kaito_workspace_phi_3_with_adapters.yaml",
    ];

    private const string Inference = """
        apiVersion: kaito.sh/v1beta1
        kind: Workspace
        metadata:
          name: {name}
        resource:
          instanceType: {instanceType}
          labelSelector:
            matchLabels:
              {label}
        inference:
          preset:
            name: {preset}
        """;

    private const string Tuning = """
        apiVersion: kaito.sh/v1alpha1
        kind: Workspace
        metadata:
          name: {name}
        resource:
          instanceType: Standard_NC6s_v3
          count: {count}
          labelSelector:
            matchLabels:
              app: tuning-phi-3
        tuning:
          preset:
            name: {preset}
          method: {method}
          input:
            urls:
              - "{url}"
          output:
            image: "{image}"
            imagePushSecret: {secret}
        """;

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "missing-config", Workspace(preset: "phi-4-mini-instruct\n  config: absent"), "inference.config: ConfigMap absent specified in 'config' was not found in the workspace's namespace" },
        { "unknown-sku", Workspace(instanceType: "Standard_E4s_v5"), "resource.instanceType: Unsupported instance type Standard_E4s_v5." },
        { "aws-sku", Workspace(instanceType: "p5.48xlarge"), "Unsupported instance type p5.48xlarge." },
        { "reserved-labels", Workspace(label: "kaito.sh/workspace: x"), "matchLabels must contain at least one non-reserved label" },
        { "bad-label-value", Workspace(label: "app: \"has spaces\""), "label value 'has spaces' is not valid" },
        { "unknown-preset", Workspace(preset: "phi-9"), "inference.preset.name: Unsupported inference preset name phi-9" },
        { "hf-id", Workspace(preset: "someone/some-model"), "Unsupported inference preset name someone/some-model" },
        { "gated", Workspace(preset: "llama-3.1-8b-instruct"), "model llama-3.1-8b-instruct is gated" },
        { "tuning-unknown-preset", Tune(preset: "phi-9"), "tuning.preset.name: Unsupported tuning preset name phi-9" },
        { "tuning-no-support", Tune(preset: "llama-3.1-8b-instruct"), "Preset llama-3.1-8b-instruct does not support tuning" },
        { "tuning-method", Tune(method: "full"), "tuning.method: Unsupported tuning method 'full': must be lora or qlora" },
        { "tuning-multinode", Tune(count: 2), "Tuning does not currently support multinode configurations. Please set the node count to 1." },
        { "url-localhost", Tune(url: "http://localhost:8080/data.parquet"), "tuning.input.urls[0]" },
        { "url-metadata", Tune(url: "http://169.254.169.254/latest/meta-data"), "points at a link-local (cloud metadata) address (169.254.169.254), which is not allowed" },
        { "url-private", Tune(url: "https://10.0.0.7/data.csv"), "points at a private address (10.0.0.7), which is not allowed" },
        { "url-scheme", Tune(url: "ftp://example.com/data.csv"), "must use http or https, not ftp" },
        { "url-relative", Tune(url: "data.csv"), "is not a valid absolute URL" },
        { "output-image", Tune(image: "registry.io/repo:tag with space"), "tuning.output.image" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task AnInvalidWorkspaceIsRefusedWithKaitosMessage(string name, string yaml, string expected)
    {
        var (exitCode, output) = await ApplyAsync(name, yaml);

        Assert.True(exitCode != 0, $"kubectl apply of {name} succeeded:\n{output}");
        Assert.Contains("admission webhook \"validation.workspace.kaito.sh\" denied the request: validation failed: ", output, StringComparison.Ordinal);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryFieldErrorIsInTheOneMessage()
    {
        var (exitCode, output) = await ApplyAsync("several", Tune(method: "full", url: "ftp://example.com/data.csv", count: 2));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("tuning.method: Unsupported tuning method 'full'", output, StringComparison.Ordinal);
        Assert.Contains("must use http or https, not ftp", output, StringComparison.Ordinal);
        Assert.Contains("Please set the node count to 1.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANestedYamlBombInTheTrainingConfigIsRefusedAndTheControllerLives()
    {
        // 100,000 nested sequences (about 200 KB) overflowed the stack of a recursive YAML loader and killed the controller.
        var ns = await NamespaceAsync();
        var bomb = "training_config:\n  TrainingArguments: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        await fixture.Cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new k8s.Models.V1ConfigMap
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "bomb" },
            Data = new Dictionary<string, string> { ["training_config.yaml"] = bomb },
        }, ns);

        var (exitCode, output) = await ApplyAsync("bomb", Tune().Replace("  method: qlora", "  method: qlora\n  config: bomb", StringComparison.Ordinal), ns);
        var after = await ApplyAsync("after-bomb", Workspace(), ns);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("tuning.config: ConfigMap bomb: training_config.yaml line 2: invalid YAML: nesting is deeper than 64 levels", output, StringComparison.Ordinal);
        Assert.True(fixture.ControllerRunning, fixture.ControllerLog);
        after.EnsureApplied();
    }

    [Fact]
    public async Task AHostPathVolumeIsRefusedThroughKubectl()
    {
        var yaml = Tune().Replace("    urls:\n      - \"https://example.com/data/train.parquet?download=true\"",
            "    volumeSource:\n      hostPath:\n        path: /", StringComparison.Ordinal);
        Assert.Contains("hostPath", yaml, StringComparison.Ordinal);

        var (exitCode, output) = await ApplyAsync("host-path", yaml);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("tuning.input.volumeSource: volume type hostPath is not allowed for workspaces", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutatedWorkspacesGetAnAnswerFromTheWebhookNeverAnError()
    {
        // Every write of a workspace goes through the webhook: mutated objects (seeded, repeatable) must be admitted or
        // denied — a webhook error would be LocalCluster's 500 "failed calling webhook" — and the controller lives on.
        var ns = await NamespaceAsync();
        using var http = RawApi.Create(fixture.Cluster.Kubeconfig);
        var seeds = s_fuzzSeeds
            .Select(p => Kaito.Api.Serialization.KaitoYaml.LoadAll(File.ReadAllText(Repository.PathOf(p.Split('/'))))[0])
            .Select(json =>
            {
                json["metadata"]!.AsObject().Remove("name");
                json["metadata"]!["generateName"] = "fuzz-";
                return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
            })
            .ToList();

        var report = await Fuzzer.RunAsync("Workspace writes through the admission webhook", seeds, 2000, 51, async bytes =>
        {
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync($"apis/kaito.sh/v1beta1/namespaces/{ns}/workspaces", content);
            var status = (int)response.StatusCode;
            return status < 500 ? status < 300 : throw new InvalidOperationException($"HTTP {status}: {await response.Content.ReadAsStringAsync()}");
        });

        output.WriteLine(report.ToString());
        Assert.True(fixture.ControllerRunning, fixture.ControllerLog);
    }

    [Fact]
    public async Task TheExamplesAndTheBriefPass()
    {
        foreach (var example in new[] { "examples/inference/kaito_workspace_phi_4_mini.yaml", "examples/fine-tuning/kaito_workspace_tuning_phi_3.yaml" })
        {
            var ns = await NamespaceAsync();
            var result = await fixture.Cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf(example.Split('/')));
            Assert.True(result.ExitCode == 0, $"{example} was refused:\n{result.Output}{result.Error}");
        }
    }

    [Fact]
    public async Task AnUpdateIsCheckedAgainstTheOldObject()
    {
        var ns = await NamespaceAsync();
        (await ApplyAsync("changes", Tune(), ns)).EnsureApplied();

        var (exitCode, output) = await ApplyAsync("changes", Tune(method: "lora"), ns);
        var (dataExit, dataOutput) = await ApplyAsync("changes", Tune(url: "https://example.com/other.parquet"), ns);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("tuning.method", output, StringComparison.Ordinal);
        Assert.True(dataExit == 0, $"changing the tuning data was refused:\n{dataOutput}");
    }

    [Fact]
    public async Task ThePrintedConfigurationTrustsTheMountedCertificate()
    {
        var folder = Directory.CreateTempSubdirectory("kaito-webhook-certs-").FullName;
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=kaito-controller.kaito-system.svc", key,
                System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(folder, "tls.crt"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(folder, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        }

        await using var printer = ServiceProcess.Start("Kaito.Controller", folder,
            ["print-webhook-configuration", "--webhook-cert-dir", folder, "--webhook-service", "kaito-system/kaito-controller"]);
        await Eventually.TrueAsync(() => printer.HasExited);
        var printed = printer.FinalLog();
        var applied = await fixture.Cluster.Kubectl.RunAsync(["apply", "--dry-run=server", "-f", "-"], printed, TimeSpan.FromSeconds(30));

        Assert.Equal(0, printer.ExitCode);
        Assert.Contains("name: kaito-controller", printed, StringComparison.Ordinal);
        Assert.Contains(Convert.ToBase64String(File.ReadAllBytes(Path.Combine(folder, "tls.crt"))), printed, StringComparison.Ordinal);
        Assert.True(applied.ExitCode == 0, applied.Output + applied.Error);
        Directory.Delete(folder, recursive: true);
    }

    private static string Workspace(string name = "ws", string instanceType = "Standard_NC24ads_A100_v4", string label = "apps: phi-4-mini", string preset = "phi-4-mini-instruct") =>
        Inference.Replace("{name}", name, StringComparison.Ordinal).Replace("{instanceType}", instanceType, StringComparison.Ordinal)
            .Replace("{label}", label, StringComparison.Ordinal).Replace("{preset}", preset, StringComparison.Ordinal);

    private static string Tune(string preset = "phi-3-mini-128k-instruct", string method = "qlora", string url = "https://example.com/data/train.parquet?download=true",
        string image = "myregistry.azurecr.io/adapters/phi-3:0.0.1", int count = 1) =>
        Tuning.Replace("{name}", "tune", StringComparison.Ordinal).Replace("{preset}", preset, StringComparison.Ordinal)
            .Replace("{method}", method, StringComparison.Ordinal).Replace("{url}", url, StringComparison.Ordinal)
            .Replace("{image}", image, StringComparison.Ordinal).Replace("{secret}", "push-secret", StringComparison.Ordinal)
            .Replace("{count}", count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private async Task<string> NamespaceAsync()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await fixture.Cluster.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = ns } });
        return ns;
    }

    private async Task<ApplyResult> ApplyAsync(string name, string yaml, string? ns = null)
    {
        ns ??= await NamespaceAsync();
        var result = await fixture.Cluster.Kubectl.RunAsync(["apply", "-n", ns, "-f", "-"], yaml, TimeSpan.FromSeconds(60));
        return new ApplyResult(result.ExitCode, $"{name}: {result.Output}{result.Error}");
    }

    private sealed record ApplyResult(int ExitCode, string Output)
    {
        public void EnsureApplied() => Assert.True(ExitCode == 0, Output);
    }
}
