using System.Globalization;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>
/// A LocalCluster whose kubelet runs pods for real: Kaito's inference server as its own image, busybox as the host's,
/// a one-second restart back-off so crash loops show within a test, and one node to schedule on.
/// </summary>
public sealed class KubeletFixture : IAsyncLifetime
{
    public LocalClusterProcess Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalClusterProcess.StartAsync(
            $"--LocalCluster:Kubelet:Components:kaito-inference-server={Repository.BuildOutput("Kaito.InferenceServer", "Kaito.InferenceServer.dll")}",
            "--LocalCluster:Kubelet:RestartBackOff=00:00:01",
            "--LocalCluster:Kubelet:VolumeSyncInterval=00:00:01");
        (await Cluster.Kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: v1
            kind: Node
            metadata:
              name: local-1
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>The processes whose command line contains <paramref name="marker"/>, from /proc.</summary>
    public static IReadOnlyList<int> ProcessesWith(string marker)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // gone meanwhile
            }
            catch (UnauthorizedAccessException)
            {
                // not ours
            }
        }

        return found;
    }
}
