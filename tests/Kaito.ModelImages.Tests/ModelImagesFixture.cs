using Kaito.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// A registry (Debian's docker-registry, with passwords) holding the tiny model pushed by <c>kubectl kaito model push</c>,
/// and a LocalCluster whose kubelet runs Kaito's inference server and model puller for real, with the controller
/// (bring-your-own nodes: one labelled node, so every workspace's pods share that node's blob cache) pointed at the
/// registry for model images. The kubelet also runs the tuner, and a dataset server on loopback is allowed as a tuning
/// data source, so a tuning workspace trains for real.
/// </summary>
public sealed class ModelImagesFixture : IAsyncLifetime
{
    private OperatorProcesses _operator = null!;
    private WebApplication _data = null!;

    /// <summary>A jsonl dataset in KAITO's conversational format, served on loopback.</summary>
    public string DataUrl { get; private set; } = null!;

    public RegistryProcess Registry { get; private set; } = null!;

    public LocalClusterProcess Cluster { get; private set; } = null!;

    /// <summary>The generated tiny model's Hugging Face folder.</summary>
    public string Model { get; private set; } = null!;

    public string DockerConfig { get; private set; } = null!;

    public string Logs => _operator.Logs;

    /// <summary>The node's label the workspaces select.</summary>
    public const string NodeLabel = "model-images";

    public async Task InitializeAsync()
    {
        (Registry, DockerConfig, Model) = await Tools.RegistryWithTinyModelAsync();

        var data = WebApplication.CreateSlimBuilder();
        var dataAddress = $"127.0.0.1:{Ports.Free()}";
        data.WebHost.UseUrls($"http://{dataAddress}");
        data.Logging.ClearProviders();
        _data = data.Build();
        var rows = string.Join('\n', Enumerable.Range(0, 40).Select(i =>
            $$"""{"messages":[{"role":"user","content":"what comes after {{i}}?"},{"role":"assistant","content":"{{i + 1}} comes after {{i}}."}]}"""));
        _data.MapGet("/train.jsonl", () => Microsoft.AspNetCore.Http.Results.Text(rows, "application/jsonl"));
        await _data.StartAsync();
        DataUrl = $"http://{dataAddress}/train.jsonl";

        Cluster = await LocalClusterProcess.StartAsync(
            $"--LocalCluster:Kubelet:Components:kaito-inference-server={Repository.BuildOutput("Kaito.InferenceServer", "Kaito.InferenceServer.dll")}",
            $"--LocalCluster:Kubelet:Components:kaito-model-puller={KaitoTools.PullerPath}",
            $"--LocalCluster:Kubelet:Components:kaito-tuner={Repository.BuildOutput("Kaito.Tuner", "Kaito.Tuner.dll")}",
            "--LocalCluster:Kubelet:RestartBackOff=00:00:02");
        (await Cluster.Kubectl.RunAsync(["apply", "-f", "-"], $"""
            apiVersion: v1
            kind: Node
            metadata:
              name: gpu-node-1
              labels:
                apps: {NodeLabel}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        _operator = await OperatorProcesses.StartAsync(Cluster, controllerArguments:
            ["--Controller:NodeProvisioner=byo", $"--Controller:ModelRegistry={Registry.Address}", $"--Controller:AllowedDataHosts={dataAddress}"]);
        await CreatePullSecretAsync("registry-creds", Registry.Password);
    }

    /// <summary>A kubernetes.io/dockerconfigjson Secret with the registry's user and <paramref name="password"/>.</summary>
    public async Task CreatePullSecretAsync(string name, string password) =>
        (await Cluster.Kubectl.RunAsync("create", "secret", "docker-registry", name, $"--docker-server={Registry.Address}",
            $"--docker-username={Registry.User}", $"--docker-password={password}")).EnsureSuccess();

    public async Task DisposeAsync()
    {
        await _operator.DisposeAsync();
        await Cluster.DisposeAsync();
        await Registry.DisposeAsync();
        await _data.StopAsync();
        await _data.DisposeAsync();
    }
}
