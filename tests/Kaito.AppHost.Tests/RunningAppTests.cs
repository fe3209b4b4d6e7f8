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
        (await kubectl.RunAsync("delete", "-f", Kaito.Testing.Repository.PathOf("examples", "inference", "kaito_workspace_tiny.yaml"), "--wait=false")).EnsureSuccess();
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
