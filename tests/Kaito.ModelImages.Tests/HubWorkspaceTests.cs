using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// LocalCluster running the inference server and the puller for real, the controller downloading preset weights from
/// the Hub (<c>Controller:ModelSource=huggingface</c>) — a <see cref="LocalHub"/> holding the kaito-tiny preset's
/// repository as a gated model — and one labelled node.
/// </summary>
public sealed class HubClusterFixture : IAsyncLifetime
{
    private OperatorProcesses _operator = null!;

    public LocalHub Hub { get; private set; } = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    public string Commit { get; private set; } = null!;

    public string Logs => _operator.Logs;

    public async Task InitializeAsync()
    {
        Hub = await LocalHub.StartAsync();
        var model = Directory.CreateTempSubdirectory("kaito-hub-model-").FullName;
        var (code, output) = await Tools.KubectlKaitoAsync("model", "tiny", model);
        Assert.True(code == 0, output);
        Commit = Hub.Commit("kaito/tiny-llama", Directory.EnumerateFiles(model).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes), gated: true);
        Directory.Delete(model, recursive: true);

        Cluster = await LocalClusterProcess.StartAsync(
            $"--LocalCluster:Kubelet:Components:kaito-inference-server={Repository.BuildOutput("Kaito.InferenceServer", "Kaito.InferenceServer.dll")}",
            $"--LocalCluster:Kubelet:Components:kaito-model-puller={KaitoTools.PullerPath}",
            "--LocalCluster:Kubelet:RestartBackOff=00:00:02");
        (await Cluster.Kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: v1
            kind: Node
            metadata:
              name: hub-node-1
              labels:
                apps: hub
            ---
            apiVersion: v1
            kind: Secret
            metadata:
              name: hf-token
            stringData:
              HF_TOKEN: hf_local_test_token
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        _operator = await OperatorProcesses.StartAsync(Cluster, controllerArguments:
            ["--Controller:NodeProvisioner=byo", "--Controller:ModelSource=huggingface", $"--Controller:HuggingFaceEndpoint={Hub.Endpoint}"]);
    }

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await Cluster.DisposeAsync();
        await Hub.DisposeAsync();
    }
}

/// <summary>Gated preset weights from the Hub: the workspace's modelAccessSecret is the token; without it, the workspace says which secret is missing.</summary>
public sealed class HubWorkspaceTests(HubClusterFixture fixture) : IClassFixture<HubClusterFixture>
{
    [Fact]
    public async Task AGatedPresetIsDownloadedWithTheAccessSecretsTokenAndRefusedWithoutOne()
    {
        await WorkspaceStatus.ApplyTinyAsync(fixture.Cluster.Kubectl, "hub-tiny", "hub", "modelAccessSecret: hf-token");
        await WorkspaceStatus.ApplyTinyAsync(fixture.Cluster.Kubectl, "hub-no-token", "hub");

        await Eventually.ValueAsync(async () => await WorkspaceStatus.ConditionAsync(fixture.Cluster.Kubectl, "hub-tiny") is { Status: "True" } ? "ready" : null, TimeSpan.FromMinutes(5),
            () => $"{fixture.Cluster.Kubectl.RunAsync("logs", "hub-tiny-0", "--all-containers").GetAwaiter().GetResult().Output}\n{fixture.Logs}");
        var log = (await fixture.Cluster.Kubectl.RunAsync("logs", "hub-tiny-0", "-c", "model-weights-downloader")).EnsureSuccess().Output;
        Assert.Contains($"Model kaito/tiny-llama revision main is commit {fixture.Commit}", log, StringComparison.Ordinal);
        Assert.Contains("(a token)", log, StringComparison.Ordinal);
        Assert.All(fixture.Hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.False(r.Authorized));

        var refused = await Eventually.ValueAsync(async () => await WorkspaceStatus.ConditionAsync(fixture.Cluster.Kubectl, "hub-no-token") is { Status: "False", Reason: "ImagePullError" } c ? c.Message : null,
            TimeSpan.FromMinutes(2), () => fixture.Logs);
        Assert.Contains("model kaito/tiny-llama is gated or private: it needs a Hugging Face token with access (the workspace's modelAccessSecret, key HF_TOKEN)",
            refused, StringComparison.Ordinal);
    }
}
