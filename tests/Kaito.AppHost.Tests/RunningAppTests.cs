using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Kaito.AppHost.Tests;

/// <summary>The whole system started by the AppHost, as a developer's <c>dotnet run</c> starts it.</summary>
public sealed class RunningAppTests(RunningAppFixture fixture) : IClassFixture<RunningAppFixture>
{
    [Theory]
    [InlineData("local-cluster")]
    [InlineData("controller")]
    [InlineData("provisioner")]
    [InlineData("inference-server")]
    public async Task EveryServiceAnswersItsHealthAndLivenessEndpoints(string service)
    {
        using var client = fixture.App.CreateHttpClient(service, "http");

        using var health = await client.GetAsync(new Uri("/health", UriKind.Relative));
        using var alive = await client.GetAsync(new Uri("/alive", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public void TunerIsABatchJobThatWaitsForAnExplicitStart()
    {
        Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState("tuner", out var state));

        Assert.Equal(KnownResourceStates.NotStarted, state!.Snapshot.State?.Text);
    }

    [Fact]
    public async Task EveryServiceExportsItsStartupSpanAndLogs()
    {
        var expected = new[]
        {
            new ReceivedSpan("local-cluster", "Kaito.LocalCluster", "local-cluster.start"),
            new ReceivedSpan("controller", "Kaito.Controller", "controller.start"),
            new ReceivedSpan("provisioner", "Kaito.Provisioner", "provisioner.start"),
            new ReceivedSpan("inference-server", "Kaito.InferenceServer", "inference-server.start"),
        };

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30) &&
               (!expected.All(fixture.Telemetry.Spans.Contains) ||
                !expected.All(e => fixture.Telemetry.Logs.Any(l => l.Service == e.Service && l.Scope.StartsWith(e.Scope, StringComparison.Ordinal)))))
        {
            await Task.Delay(250);
        }

        Assert.All(expected, span => Assert.Contains(span, fixture.Telemetry.Spans));
        Assert.All(expected, span => Assert.Contains(fixture.Telemetry.Logs,
            log => log.Service == span.Service && log.Scope.StartsWith(span.Scope, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AWorkspacesNodeProvisioningContinuesTheControllersTrace()
    {
        var kubectl = new Kaito.Testing.Kubectl(fixture.Kubeconfig);
        (await kubectl.RunAsync("apply", "-f", Kaito.Testing.Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();

        var deadline = Stopwatch.StartNew();
        ReceivedTrace? provisioning = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60) && provisioning is null)
        {
            provisioning = fixture.Telemetry.Traces.FirstOrDefault(t => t.Service == "provisioner" && t.Name == "nodeclaim provision"
                && fixture.Telemetry.Traces.Any(c => c.Service == "controller" && c.Name == "workspace reconcile" && c.TraceId == t.TraceId));
            await Task.Delay(250);
        }

        var annotation = (await kubectl.RunAsync("get", "nodeclaims", "-o", "jsonpath={.items[0].metadata.annotations.kaito\\.sh/traceparent}")).EnsureSuccess().Output;
        Assert.True(provisioning is not null, $"no provisioner span joined a controller trace; claim traceparent '{annotation}'; spans: " +
            string.Join(", ", fixture.Telemetry.Traces.Where(t => t.Service is "controller" or "provisioner").Select(t => $"{t.Service}/{t.Name}/{t.TraceId[..6]}").Distinct().Take(20)));
        Assert.Matches($"^00-{provisioning.TraceId}-[0-9a-f]{{16}}-0[01]$", annotation);
        (await kubectl.RunAsync("delete", "-f", Kaito.Testing.Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"), "--wait=false")).EnsureSuccess();
    }

    [Fact]
    public async Task TheTinyPresetServesOutOfTheBoxFromTheModelImageTheAppHostPushed()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await fixture.App.ResourceNotifications.WaitForResourceAsync("model-push", KnownResourceStates.Finished, timeout.Token);
        Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState("model-push", out var pushed) && pushed.Snapshot.ExitCode == 0, "kubectl kaito model push failed");

        var kubectl = new Kaito.Testing.Kubectl(fixture.Kubeconfig);
        (await kubectl.RunAsync("apply", "-f", Kaito.Testing.Repository.PathOf("examples", "inference", "kaito_workspace_tiny.yaml"))).EnsureSuccess();
        await Kaito.Testing.Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "workspace", "workspace-tiny", "-o", "jsonpath={.status.conditions[?(@.type==\"InferenceReady\")].status}")).Output == "True" ? "ready" : null,
            TimeSpan.FromMinutes(4), () => kubectl.RunAsync("get", "workspace,pods", "-o", "yaml").GetAwaiter().GetResult().Output);

        var pulled = (await kubectl.RunAsync("logs", "workspace-tiny-0", "-c", "model-weights-downloader")).EnsureSuccess().Output;
        Assert.Contains("model.safetensors", pulled, StringComparison.Ordinal);
        var clusterIp = (await kubectl.RunAsync("get", "service", "workspace-tiny", "-o", "jsonpath={.spec.clusterIP}")).EnsureSuccess().Output;
        using var http = new HttpClient { BaseAddress = new Uri($"http://{clusterIp}/") };
        using var chat = await http.PostAsync(new Uri("chat", UriKind.Relative),
            new StringContent("""{"prompt": "hello", "generate_kwargs": {"max_length": 8}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.NotNull(JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement.GetProperty("Result").GetString());

        // Ready came from the real /health: not before the server had loaded the model.
        var pod = JsonDocument.Parse((await kubectl.RunAsync("get", "pod", "workspace-tiny-0", "-o", "json")).EnsureSuccess().Output).RootElement;
        var ready = pod.GetProperty("status").GetProperty("conditions").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "Ready");
        var loaded = (await kubectl.RunAsync("logs", "workspace-tiny-0", "-c", "workspace-tiny", "--timestamps")).EnsureSuccess().Output
            .Split('\n').First(l => l.Contains("Model kaito-tiny loaded", StringComparison.Ordinal));
        Assert.True(DateTimeOffset.Parse(ready.GetProperty("lastTransitionTime").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            >= DateTimeOffset.Parse(loaded[..loaded.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture).AddSeconds(-1), loaded);

        // kubectl port-forward svc/workspace-tiny <port>:80, then the official OpenAI client.
        await AskThroughPortForwardAsync(kubectl);

        // A deleted pod is replaced by its StatefulSet and serves again.
        var uid = pod.GetProperty("metadata").GetProperty("uid").GetString();
        (await kubectl.RunAsync("delete", "pod", "workspace-tiny-0")).EnsureSuccess();
        await Kaito.Testing.Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "pod", "workspace-tiny-0", "-o", "jsonpath={.metadata.uid} {.status.conditions[?(@.type==\"Ready\")].status}")).Output is var state
            && !state.StartsWith(uid!, StringComparison.Ordinal) && state.EndsWith(" True", StringComparison.Ordinal) ? state : null,
            TimeSpan.FromMinutes(4), () => kubectl.RunAsync("describe", "pod", "workspace-tiny-0").GetAwaiter().GetResult().Output);
        await AskThroughPortForwardAsync(kubectl);
        (await kubectl.RunAsync("delete", "-f", Kaito.Testing.Repository.PathOf("examples", "inference", "kaito_workspace_tiny.yaml"), "--wait=false")).EnsureSuccess();
    }

    private static async Task AskThroughPortForwardAsync(Kaito.Testing.Kubectl kubectl)
    {
        await using var forwarding = await Kaito.Testing.PortForwarding.StartAsync(kubectl, "svc/workspace-tiny", 80);
        var client = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential("not-checked"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(forwarding.BaseAddress, "v1") });
        var completion = (await client.GetChatClient("kaito-tiny").CompleteChatAsync(["hello"],
            new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 })).Value;
        Assert.Equal("kaito-tiny", completion.Model);
        Assert.True(completion.Usage.OutputTokenCount > 0, forwarding.Log);
    }

    /// <summary>
    /// README's "Fine-tuning on a laptop", command by command: the push Secret, the brief's tuning workspace for
    /// kaito-tiny (data from the AppHost's datasets server, adapter to its registry), the real training in the Job's log,
    /// the adapter image seen by skopeo, and the brief's own <c>kubectl run ... curl ... /chat</c> answered by the tuned
    /// model — whose greedy output is the tuner's own decode of the same prompt with the pushed adapter.
    /// </summary>
    [Fact]
    public async Task TheBriefsFineTuningWalkThroughRunsForRealAndTheTunedModelAnswersItsChat()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await fixture.App.ResourceNotifications.WaitForResourceAsync("model-push", KnownResourceStates.Finished, timeout.Token);
        var kubectl = new Kaito.Testing.Kubectl(fixture.Kubeconfig);
        var registry = $"localhost:{fixture.RegistryPort}";
        (await kubectl.RunAsync("create", "secret", "docker-registry", "local-registry", $"--docker-server={registry}",
            "--docker-username=kaito", "--docker-password=local")).EnsureSuccess();
        var yaml = (await File.ReadAllTextAsync(Kaito.Testing.Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_tiny.yaml")))
            .Replace("localhost:5001", registry, StringComparison.Ordinal)
            .Replace("localhost:5002", $"localhost:{fixture.DatasetsPort}", StringComparison.Ordinal);
        (await kubectl.RunAsync(["apply", "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();

        string Describe() => kubectl.RunAsync("describe", "workspace,jobs,pods").GetAwaiter().GetResult().Output;
        async Task UntilAsync(string condition) => await Kaito.Testing.Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "workspace", "workspace-tuning-tiny", "-o", $"jsonpath={{.status.conditions[?(@.type==\"{condition}\")].status}}")).Output == "True" ? "true" : null,
            TimeSpan.FromMinutes(6), Describe);

        await UntilAsync("WorkspaceSucceeded");
        var training = (await kubectl.RunAsync("logs", "job/workspace-tuning-tiny")).EnsureSuccess().Output;
        Assert.Matches(@"step \d+/\d+.*loss [0-9.]+", training);
        Assert.Matches(@"Trained \d+ steps: loss [0-9.]+ → [0-9.]+", training);
        var image = $"{registry}/workspace-tuning-tiny:0.0.1";
        var (inspected, inspection) = await Kaito.Testing.RegistryProcess.RunAsync("skopeo", ["inspect", "--tls-verify=false", $"docker://{image}"]);
        Assert.True(inspected == 0, inspection);
        Assert.Single(JsonDocument.Parse(inspection).RootElement.GetProperty("Layers").EnumerateArray());

        await UntilAsync("WorkspaceReady");
        var row = (await kubectl.RunAsync("get", "workspace", "workspace-tuning-tiny", "--no-headers")).EnsureSuccess().Output;
        Assert.Matches(@"^workspace-tuning-tiny\s+Standard_NC6s_v3\s+True\s+True\s+True\s+True\s+", row);

        // The brief's commands, as written.
        var clusterIp = (await kubectl.RunAsync("get", "svc", "workspace-tuning-tiny", "-o", "jsonpath={.spec.clusterIPs[0]}")).EnsureSuccess().Output;
        var chat = await kubectl.RunAsync(["run", "-it", "--rm", "--restart=Never", "curl", "--image=curlimages/curl", "--", "curl", "-X", "POST", $"http://{clusterIp}/chat",
            "-H", "accept: application/json", "-H", "Content-Type: application/json", "-d", "{\"prompt\":\"YOUR QUESTION HERE\"}"], null, TimeSpan.FromMinutes(2));
        Assert.True(chat.ExitCode == 0, $"{chat.Output}\n{chat.Error}");
        var answer = chat.Output[chat.Output.IndexOf('{', StringComparison.Ordinal)..];
        Assert.StartsWith("YOUR QUESTION HERE", JsonDocument.Parse(answer[..(answer.LastIndexOf('}') + 1)]).RootElement.GetProperty("Result").GetString(), StringComparison.Ordinal);

        // Greedy, the tuned model says what the tuner itself decodes with the adapter it pushed (base and adapter as the
        // registry holds them, pulled by Kaito's puller).
        const string Prompt = "what comes after 7?";
        var pulled = Directory.CreateTempSubdirectory("kaito-walkthrough-").FullName;
        try
        {
            var model = Path.Combine(pulled, "model");
            var adapter = Path.Combine(pulled, "adapter");
            var (baseCode, basePull) = await Kaito.Testing.KaitoTools.PullAsync("--image", $"{registry}/kaito-kaito-tiny:0.1.0", "--target", model, "--cache", "");
            Assert.True(baseCode == 0, basePull);
            var (adapterCode, adapterPull) = await Kaito.Testing.KaitoTools.PullAsync("--image", image, "--layout", "image-data", "--target", adapter, "--cache", "");
            Assert.True(adapterCode == 0, adapterPull);
            var expected = await Kaito.Testing.KaitoTools.TunerDecodeAsync(model, adapter, Prompt, 8);

            using var http = new HttpClient { BaseAddress = new Uri($"http://{clusterIp}/"), Timeout = TimeSpan.FromMinutes(2) };
            using var response = await http.PostAsync(new Uri("v1/completions", UriKind.Relative), new StringContent(
                JsonSerializer.Serialize(new { prompt = Prompt, max_tokens = 8, temperature = 0, return_token_ids = true }), System.Text.Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            var served = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()).ToList();
            Assert.Equal(expected, served);
        }
        finally
        {
            Directory.Delete(pulled, recursive: true);
            (await kubectl.RunAsync("delete", "workspace", "workspace-tuning-tiny", "--wait=false")).EnsureSuccess();
        }
    }

    [Fact]
    public async Task KubectlReachesLocalClusterThroughTheKubeconfigItWrote()
    {
        var info = new ProcessStartInfo("kubectl", ["--kubeconfig", fixture.Kubeconfig, "version", "-o", "json"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var kubectl = Process.Start(info)!;
        var output = await kubectl.StandardOutput.ReadToEndAsync();
        var error = await kubectl.StandardError.ReadToEndAsync();
        await kubectl.WaitForExitAsync();

        Assert.True(kubectl.ExitCode == 0, $"kubectl failed ({kubectl.ExitCode}): {error}");
        using var version = JsonDocument.Parse(output);
        Assert.Equal("v1.32.0", version.RootElement.GetProperty("serverVersion").GetProperty("gitVersion").GetString());
    }
}
