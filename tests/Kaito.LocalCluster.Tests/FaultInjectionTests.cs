using System.Diagnostics;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>Fault injection: off by default, and when asked, failed requests of chosen verbs and short-lived watches.</summary>
public sealed class FaultInjectionTests
{
    [Fact]
    public async Task InjectedErrorsFailOnlyTheChosenVerbs()
    {
        await using var cluster = await LocalClusterProcess.StartAsync(
            "--LocalCluster:Faults:ErrorRate=1", "--LocalCluster:Faults:Verbs:0=create");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, "default"));
        var namespaces = await cluster.Client.CoreV1.ListNamespaceAsync();

        Assert.Equal(500, (int)error.Response.StatusCode);
        Assert.Contains("injected fault", error.Response.Content, StringComparison.Ordinal);
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
    }

    [Fact]
    public async Task WatchesEndAfterTheirInjectedLifetime()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Faults:WatchLifetime=00:00:01");
        // KubernetesClient reads a watch's first line before returning it, so give the watch one object to replay.
        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "seen" } }, "default");
        var clock = Stopwatch.StartNew();
        var events = 0;

        await foreach (var _ in cluster.Client.CoreV1.WatchListNamespacedConfigMapAsync("default", timeoutSeconds: 60))
        {
            events++;
        }

        Assert.Equal(1, events);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(20));
    }
}
