using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Kaito.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kaito.Operator.Tests;

/// <summary>Informers against LocalCluster over HTTPS: list, watch, reconnect, re-list after 410.</summary>
public sealed class InformerTests
{
    [Fact]
    public async Task ListsThenSeesEveryAddUpdateAndDeleteAcrossNamespaces()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        await CreateMapAsync(cluster, "default", "before");
        using var api = Api(cluster);
        var informer = new Informer<V1ConfigMap>(api, new ResourceKind("", "v1", "configmaps"), new InformerOptions(), TimeProvider.System, NullLogger.Instance);
        var events = new ConcurrentQueue<(InformerEventType, string)>();
        informer.Changed += e => events.Enqueue((e.Type, e.Item.Metadata.Name));
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => informer.HasSynced);
        await cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "other" } });
        await CreateMapAsync(cluster, "other", "after");
        await cluster.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"2"}}""", V1Patch.PatchType.MergePatch), "after", "other");
        await cluster.Client.CoreV1.DeleteNamespacedConfigMapAsync("before", "default");
        await Eventually.TrueAsync(() => events.Count >= 4);

        Assert.Equal([(InformerEventType.Added, "before"), (InformerEventType.Added, "after"), (InformerEventType.Updated, "after"), (InformerEventType.Deleted, "before")], events);
        Assert.Equal("2", informer.Get("other", "after")!.Data["k"]);
        Assert.Null(informer.Get("default", "before"));
        Assert.Single(informer.List("other"));
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task ReconnectsWhenWatchesCloseAndRelistsWhenItsVersionExpiredWithoutLosingAChange()
    {
        await using var cluster = await LocalClusterProcess.StartAsync(
            "--LocalCluster:Faults:WatchLifetime=00:00:01", "--LocalCluster:WatchHistory=20");
        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_tiny.yaml"))).EnsureSuccess();
        using var api = Api(cluster);
        var informer = new Informer<Kaito.Api.Workspaces.Workspace>(api, ResourceKind.For<Kaito.Api.Workspaces.Workspace>(),
            new InformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(50) }, TimeProvider.System, NullLogger.Instance);
        var deleted = new ConcurrentBag<string>();
        informer.Changed += e =>
        {
            if (e.Type == InformerEventType.Deleted)
            {
                deleted.Add(e.Item.Metadata.Name);
            }
        };
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        await Eventually.TrueAsync(() => informer.HasSynced);

        // While the informer's watch is closed, push its resource version out of the retained history and delete a workspace.
        (await cluster.Kubectl.RunAsync("delete", "wk", "workspace-tiny")).EnsureSuccess();
        foreach (var i in Enumerable.Range(0, 40))
        {
            await CreateMapAsync(cluster, "default", $"filler-{i}");
        }

        await Eventually.TrueAsync(() => informer.Lists >= 2);
        (await cluster.Kubectl.RunAsync("label", "wk", "workspace-phi-4-mini", "seen=yes")).EnsureSuccess();
        await Eventually.TrueAsync(() => informer.Get("default", "workspace-phi-4-mini")?.Metadata.Labels?.ContainsKey("seen") == true);

        Assert.Equal(["workspace-tiny"], deleted);
        Assert.Equal(["workspace-phi-4-mini"], informer.List().Select(w => w.Metadata.Name));
        Assert.True(informer.SinceLastProgress < TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await running;
    }

    private static KubernetesApi Api(LocalClusterProcess cluster) =>
        new(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));

    private static Task<V1ConfigMap> CreateMapAsync(LocalClusterProcess cluster, string ns, string name) =>
        cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["k"] = "1" } }, ns);
}
