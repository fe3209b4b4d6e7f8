using System.Diagnostics;
using k8s;

namespace Kaito.Testing;

/// <summary>
/// Kaito.LocalCluster started as its own process on a free port, as users and the AppHost run it; tests reach it over
/// HTTPS through the kubeconfig it writes, with KubernetesClient and kubectl.
/// </summary>
public sealed class LocalClusterProcess : IAsyncDisposable
{
    private readonly string _folder;
    private readonly IReadOnlyList<string> _arguments;
    private ServiceProcess _process;

    private LocalClusterProcess(ServiceProcess process, string folder, string kubeconfig, IReadOnlyList<string> arguments)
    {
        _process = process;
        _folder = folder;
        _arguments = arguments;
        Kubeconfig = kubeconfig;
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        Kubectl = new Kubectl(kubeconfig);
    }

    public string Kubeconfig { get; }

    public IKubernetes Client { get; }

    public Kubectl Kubectl { get; }

    /// <summary>Starts LocalCluster with extra command-line arguments and waits for its kubeconfig to appear.</summary>
    public static Task<LocalClusterProcess> StartAsync(params string[] arguments) => StartAsync(durable: false, arguments);

    /// <summary>
    /// Starts LocalCluster on a fixed port with a data directory, so that after <see cref="Kill"/> a
    /// <see cref="RestartAsync"/> brings the same cluster back at the same address, with the same CA and token: clients
    /// keep their kubeconfig across the outage, as with a restarted kube-apiserver.
    /// </summary>
    public static Task<LocalClusterProcess> StartDurableAsync(params string[] arguments) => StartAsync(durable: true, arguments);

    private static async Task<LocalClusterProcess> StartAsync(bool durable, string[] arguments)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"kaito-local-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        string[] all = durable
            ? ["--port", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--kubeconfig", kubeconfig, "--data-dir", Path.Combine(folder, "data"), .. arguments]
            : ["--port", "0", "--kubeconfig", kubeconfig, .. arguments];
        return new LocalClusterProcess(await LaunchAsync(folder, kubeconfig, all), folder, kubeconfig, all);
    }

    /// <summary>Starts the process again after <see cref="Kill"/> (a durable cluster comes back as it was).</summary>
    public async Task RestartAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("LocalCluster is still running; Kill it first.");
        }

        await _process.DisposeAsync();
        File.Delete(Kubeconfig);
        _process = await LaunchAsync(_folder, Kubeconfig, _arguments);
    }

    private static async Task<ServiceProcess> LaunchAsync(string folder, string kubeconfig, IReadOnlyList<string> arguments)
    {
        var process = ServiceProcess.Start("Kaito.LocalCluster", folder, arguments,
            new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" });
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(kubeconfig))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var log = process.FinalLog();
                await process.DisposeAsync();
                throw new InvalidOperationException($"Kaito.LocalCluster did not write its kubeconfig: {log}");
            }

            await Task.Delay(50);
        }

        return process;
    }

    /// <summary>The LocalCluster process' id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Stops the process with SIGTERM (its shutdown code runs) and waits for it to exit.</summary>
    public Task TerminateAsync() => _process.TerminateAsync();

    /// <summary>Kills the process with SIGKILL, as a crash or an OOM kill would: no shutdown code runs.</summary>
    public void Kill() => _process.Kill();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by the dying process; the temp folder is cleaned up later
        }
    }
}
