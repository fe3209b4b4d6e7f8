using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Testing;

namespace Kaito.InferenceServer.Tests;

/// <summary>How the process starts and fails to start.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task AMissingModelFolderStopsTheServerWithANonZeroExitAndTheReason()
    {
        var missing = Path.Combine(Path.GetTempPath(), "kaito-no-such-model-" + Guid.NewGuid().ToString("N"));
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(),
            ["--model", missing, "--port", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        await Eventually.TrueAsync(() => server.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(1, server.ExitCode);
        Assert.Contains($"Model folder {missing} does not exist", server.FinalLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHuggingFaceFolderIsExportedOnLoadAndServedUnderItsName()
    {
        var root = Directory.CreateTempSubdirectory("kaito-hf-serve-").FullName;
        try
        {
            var (hf, _) = Kaito.Models.Tiny.TinyModel.Generate(root);
            var port = Ports.Free();
            await using var server = ServiceProcess.Start("Kaito.InferenceServer", root,
                ["--model", hf, "--cache-dir", Path.Combine(root, "cache"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

            // Healthy first: while the model loads, the list is (rightly) empty.
            await Eventually.ValueAsync(async () => (await http.GetAsync("health")).IsSuccessStatusCode ? "up" : null,
                TimeSpan.FromSeconds(90), () => server.Log);
            var models = await http.GetStringAsync("v1/models");

            Assert.Contains("\"id\":\"hf\"", models, StringComparison.Ordinal);
            Assert.Contains("Exporting Hugging Face model", server.Log, StringComparison.Ordinal);
            Assert.True(File.Exists(Directory.GetFiles(Path.Combine(root, "cache"), "genai_config.json", SearchOption.AllDirectories).Single()));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task KaitosInferenceConfigFileSetsTheContextLengthAndNamesWhatItIgnores()
    {
        var root = Directory.CreateTempSubdirectory("kaito-config-file-").FullName;
        try
        {
            var config = Path.Combine(root, "inference_config.yaml");
            await File.WriteAllTextAsync(config, "vllm:\n  max-model-len: 48\n  gpu-memory-utilization: 0.84\n");
            var port = Ports.Free();
            await using var server = ServiceProcess.Start("Kaito.InferenceServer", root,
                ["--tiny-model", Path.Combine(root, "tiny"), "--kaito-config-file", config, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await Eventually.ValueAsync(async () => (await http.GetAsync("health")).IsSuccessStatusCode ? "up" : null, TimeSpan.FromSeconds(90), () => server.Log);

            var longPrompt = string.Join(' ', Enumerable.Repeat("kubernetes", 60));
            using var reply = await http.PostAsync("v1/completions", new StringContent(
                $$"""{"model":"kaito-tiny","prompt":"{{longPrompt}}","max_tokens":4}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await reply.Content.ReadAsStringAsync();

            Assert.Equal(System.Net.HttpStatusCode.BadRequest, reply.StatusCode);
            Assert.Contains("48", body, StringComparison.Ordinal);
            Assert.Contains("ignoring keys this server does not use: vllm.gpu-memory-utilization", server.Log, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task AnInvalidInferenceConfigFileStopsTheServerNamingTheLine()
    {
        var config = Path.Combine(Path.GetTempPath(), $"inference_config-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, "vllm:\n  max-model-len: lots\n");
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(), ["--kaito-config-file", config, "--port", "0"]);

        await Eventually.TrueAsync(() => server.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(2, server.ExitCode);
        Assert.Contains($"{config} line 2: vllm.max-model-len is 'lots'; it must be a positive integer", server.FinalLog(), StringComparison.Ordinal);
        File.Delete(config);
    }

    [Fact]
    public async Task ANestedYamlBombInTheInferenceConfigFileStopsTheServerWithItsReason()
    {
        var config = Path.Combine(Path.GetTempPath(), $"inference_config-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, "vllm: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(), ["--kaito-config-file", config, "--port", "0"]);

        await Eventually.TrueAsync(() => server.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(2, server.ExitCode);
        Assert.Contains($"{config} line 1: invalid YAML: nesting is deeper than 64 levels", server.FinalLog(), StringComparison.Ordinal);
        File.Delete(config);
    }

    [Fact]
    public async Task WithACertificateTheServerSpeaksOnlyTls()
    {
        var root = Directory.CreateTempSubdirectory("kaito-tls-").FullName;
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(root, "tls.crt"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(root, "tls.key"), key.ExportPkcs8PrivateKeyPem());
            var port = Ports.Free();
            await using var server = ServiceProcess.Start("Kaito.InferenceServer", root,
                ["--tiny-model", Path.Combine(root, "tiny"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 "--tls-cert-file", Path.Combine(root, "tls.crt"), "--tls-key-file", Path.Combine(root, "tls.key")]);
            using var https = new HttpClient(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
            }) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };

            await Eventually.ValueAsync(async () => (await https.GetAsync("health")).IsSuccessStatusCode ? "up" : null, TimeSpan.FromSeconds(90), () => server.Log);
            using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            var cleartext = await Record.ExceptionAsync(() => plain.GetAsync("health"));

            Assert.NotNull(cleartext);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task AMissingApiKeysFileStopsTheServerNamingIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-keys-{Guid.NewGuid():N}");
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(), ["--api-keys-file", missing, "--port", "0"]);

        await Eventually.TrueAsync(() => server.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(2, server.ExitCode);
        Assert.Contains($"--api-keys-file {missing} does not exist", server.FinalLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADefaultModelAnswersRequestsThatNameNoneAndTheLegacyChatAndAMissingOneStopsTheServer()
    {
        var root = Directory.CreateTempSubdirectory("kaito-default-model-").FullName;
        try
        {
            var (hf, onnx) = Kaito.Models.Tiny.TinyModel.Generate(root);
            var adapters = Path.Combine(root, "adapters");
            Kaito.Models.Tiny.TinyModel.RandomAdapter(hf, "tuned", seed: 11).Save(Path.Combine(adapters, "tuned"));
            string[] Arguments(string defaultModel, int port) =>
            [
                "--model", onnx, "--served-model-name", "base", "--base-weights", hf, "--adapters-dir", adapters, "--default-model", defaultModel,
                "--cache-dir", Path.Combine(root, "cache"), "--port", port.ToString(CultureInfo.InvariantCulture),
            ];

            await using (var missing = ServiceProcess.Start("Kaito.InferenceServer", root, Arguments("no-such-adapter", Ports.Free())))
            {
                await Eventually.TrueAsync(() => missing.HasExited, TimeSpan.FromSeconds(90));
                Assert.Equal(1, missing.ExitCode);
                Assert.Contains($"the default model 'no-such-adapter' is not served: no adapter of that name loaded from {adapters}", missing.FinalLog(), StringComparison.Ordinal);
            }

            var port = Ports.Free();
            await using var server = ServiceProcess.Start("Kaito.InferenceServer", root, Arguments("tuned", port));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(2) };
            await Eventually.ValueAsync(async () => (await http.GetAsync("health")).IsSuccessStatusCode ? "up" : null, TimeSpan.FromSeconds(90), () => server.Log);

            async Task<JsonNode> PostAsync(string path, object body)
            {
                using var response = await http.PostAsJsonAsync(path, body);
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, text);
                return JsonNode.Parse(text)!;
            }

            const string Prompt = "Kubernetes is";
            async Task<string> CompleteAsync(string? model) =>
                (string)(await PostAsync("v1/completions", model is null
                    ? new { prompt = Prompt, max_tokens = 8, temperature = 0 }
                    : (object)new { model, prompt = Prompt, max_tokens = 8, temperature = 0 }))["choices"]![0]!["text"]!;
            var unnamed = await CompleteAsync(null);
            Assert.Equal(await CompleteAsync("tuned"), unnamed);
            Assert.NotEqual(await CompleteAsync("base"), unnamed);

            // KAITO's /chat names no model: it gets the default, greedy with the prompt in front (return_full_text).
            var chat = await PostAsync("chat", new { prompt = Prompt, generate_kwargs = new { do_sample = false, max_new_tokens = 8 } });
            Assert.Equal(Prompt + unnamed, (string)chat["Result"]!);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task GenerateTinyModelRefusesUnknownOptionsWithUsage()
    {
        await using var command = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(), ["generate-tiny-model", "--bogus"]);

        await Eventually.TrueAsync(() => command.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(2, command.ExitCode);
        Assert.Contains("Unknown option '--bogus'", command.FinalLog(), StringComparison.Ordinal);
        Assert.Contains("usage: generate-tiny-model --out <dir>", command.FinalLog(), StringComparison.Ordinal);
    }
}
