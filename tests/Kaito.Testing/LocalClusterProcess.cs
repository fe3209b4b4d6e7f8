using System.Diagnostics;
using k8s;

namespace Kaito.Testing;

/// <summary>
/// Kaito.LocalCluster started as its own process on a free port, as users and the AppHost run it; tests reach it over
/// HTTPS through the kubeconfig it writes, with KubernetesClient and kubectl.
/// </summary>
public sealed class LocalClusterProcess : IAsyncDisposable
{
    private readonly ServiceProcess _process;
    private readonly string _folder;

    private LocalClusterProcess(ServiceProcess process, string folder, string kubeconfig)
    {
        _process = process;
        _folder = folder;
        Kubeconfig = kubeconfig;
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        Kubectl = new Kubectl(kubeconfig);
    }

    public string Kubeconfig { get; }

    public IKubernetes Client { get; }

    public Kubectl Kubectl { get; }

    /// <summary>Starts LocalCluster with extra command-line arguments and waits for its kubeconfig to appear.</summary>
    public static async Task<LocalClusterProcess> StartAsync(params string[] arguments)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"kaito-local-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        var process = ServiceProcess.Start("Kaito.LocalCluster", folder, new[] { "--port", "0", "--kubeconfig", kubeconfig }.Concat(arguments),
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

        return new LocalClusterProcess(process, folder, kubeconfig);
    }

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
