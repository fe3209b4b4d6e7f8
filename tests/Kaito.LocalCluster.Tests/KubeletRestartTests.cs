using k8s;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>What happens to real pods when LocalCluster itself stops, or dies and comes back.</summary>
public sealed class KubeletRestartTests
{
    private const string Node = """
        apiVersion: v1
        kind: Node
        metadata: {name: local-1}
        """;

    [Fact]
    public async Task StoppingLocalClusterLeavesNoProcessOfItsPodsBehind()
    {
        var marker = $"{Random.Shared.Next(100_000, 999_999)}";
        await using var cluster = await LocalClusterProcess.StartAsync();
        (await cluster.Kubectl.RunAsync(["apply", "-f", "-"], $$"""
            {{Node}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: stubborn}
            spec:
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "trap '' TERM; sleep {{marker}}1 & sleep {{marker}}2 & wait"]
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        await Eventually.TrueAsync(() => KubeletFixture.ProcessesWith($"sleep {marker}").Count == 3); // the shell and its two sleeps
        var group = KubeletFixture.ProcessesWith($"sleep {marker}").Select(ProcessGroup).Distinct().Single();

        await cluster.TerminateAsync();

        // SIGTERM is ignored by the shell; the grace runs out and the whole group gets SIGKILL.
        Assert.Empty(KubeletFixture.ProcessesWith($"sleep {marker}"));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), d => int.TryParse(Path.GetFileName(d), out var pid) && ProcessGroup(pid) == group);
    }

    [Fact]
    public async Task AfterACrashRunningPodsOfControllersAreRecreatedOrRestarted()
    {
        await using var cluster = await LocalClusterProcess.StartDurableAsync("--LocalCluster:Kubelet:RestartBackOff=00:00:01");
        (await cluster.Kubectl.RunAsync(["apply", "-f", "-"], $$"""
            {{Node}}
            ---
            apiVersion: batch/v1
            kind: Job
            metadata: {name: survivor}
            spec:
              backoffLimit: 2
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: main, image: busybox, command: [sh, -c, "if [ -e /proc/self ]; then sleep 3; fi; echo finished"]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server}
            spec:
              containers:
              - {name: main, image: busybox, command: [sleep, "3600"]}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        var client = cluster.Client;
        await Eventually.TrueAsync(() => client.CoreV1.ListNamespacedPod("default", labelSelector: "job-name=survivor").Items.Any(p => p.Status?.Phase == "Running") &&
                                         client.CoreV1.ReadNamespacedPod("server", "default").Status?.Phase == "Running");

        cluster.Kill();
        await cluster.RestartAsync();

        // The Job's pod ran when LocalCluster died and must not restart: failed as on a lost node, and the Job makes another.
        var job = await Eventually.ValueAsync(async () => await cluster.Client.BatchV1.ReadNamespacedJobAsync("survivor", "default") is { Status.Succeeded: 1 } j ? j : null,
            TimeSpan.FromSeconds(90), () => cluster.Kubectl.RunAsync("get", "pods,jobs", "-o", "wide").GetAwaiter().GetResult().Output);
        var lost = (await cluster.Client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "job-name=survivor")).Items.Single(p => p.Status.Phase == "Failed");
        // The other pod's container starts again, its restart counted.
        var server = await Eventually.ValueAsync(async () => await cluster.Client.CoreV1.ReadNamespacedPodAsync("server", "default") is { Status.ContainerStatuses: [{ RestartCount: 1, State.Running: not null }] } p ? p : null,
            TimeSpan.FromSeconds(90), () => cluster.Kubectl.RunAsync("get", "pod", "server", "-o", "yaml").GetAwaiter().GetResult().Output);

        Assert.Equal(1, job.Status.Failed);
        Assert.Equal("ContainerStatusUnknown", lost.Status.ContainerStatuses[0].State.Terminated.Reason);
        Assert.Equal("Running", server.Status.Phase);
    }

    private static int ProcessGroup(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // A zombie has ended; it only waits for its (re)parent to collect its status.
            return fields[0] == "Z" ? -1 : int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
