using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using k8s;
using k8s.Models;
using Kaito.Operator.Client;
using Kaito.Operator.Hosting;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Kaito.ServiceDefaults;
using Kaito.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kaito.Operator.Tests;

/// <summary>
/// A controller wired by the runtime's builder against LocalCluster: a ConfigMap labelled <c>mirror=true</c> gets a Secret
/// it owns; the one line <c>Owns&lt;V1Secret&gt;()</c> is all it takes for a deleted Secret to bring its owner back.
/// </summary>
public sealed class ControllerBuilderTests
{
    [Fact]
    public async Task AnOwnedKindWiredInOneLineBringsItsOwnerBackWhenItChanges()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:Enabled=false");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kubernetes:Kubeconfig"] = cluster.Kubeconfig,
            ["LeaderElection:Enabled"] = "false",
        });
        builder.AddKubernetesClient();
        builder.Services.AddSingleton<TestTelemetry>();
        builder.Services.AddSingleton<MirrorReconciler>();
        builder.Services.AddController<V1ConfigMap, MirrorReconciler, TestTelemetry>("mirror", controller => controller.Owns<V1Secret>());
        builder.Services.AddOperatorHost(builder.Configuration, "mirror-test");
        using var host = builder.Build();
        await host.StartAsync();
        var reconciler = host.Services.GetRequiredService<MirrorReconciler>();

        await cluster.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "settings", Labels = new Dictionary<string, string> { ["mirror"] = "true" } },
            Data = new Dictionary<string, string> { ["k"] = "v" },
        }, "default");
        var mirrored = await Eventually.ValueAsync(() => SecretAsync(cluster));
        await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("settings", "default");
        var restored = await Eventually.ValueAsync(async () => await SecretAsync(cluster) is { } s && s.Metadata.Uid != mirrored.Metadata.Uid ? s : null);
        await host.StopAsync();

        Assert.Equal("settings", restored.Metadata.OwnerReferences.Single(o => o.Controller == true).Name);
        Assert.True(reconciler.Passes("default", "settings") >= 2);
    }

    [Fact]
    public async Task TheTypedClientAnswersWithResultsAndStaleWritesConflict()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:Enabled=false");
        using var api = new KubernetesApi(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        var client = new ObjectClient(api);
        var map = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "typed", NamespaceProperty = "default" } };

        Assert.Null(await client.GetAsync<V1ConfigMap>("default", "typed", CancellationToken.None));
        Assert.True(await client.CreateAsync(map, CancellationToken.None));
        Assert.False(await client.CreateAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "typed", NamespaceProperty = "default" } }, CancellationToken.None));
        var read = (await client.GetAsync<V1ConfigMap>("default", "typed", CancellationToken.None))!;
        Assert.Equal(WriteResult.Written, await client.PatchAsync(read, new { data = new { a = "1" } }, conditional: true, CancellationToken.None));
        Assert.Equal(WriteResult.Conflict, await client.PatchAsync(read, new { data = new { a = "2" } }, conditional: true, CancellationToken.None));
        Assert.True(await client.AddFinalizerAsync((await client.GetAsync<V1ConfigMap>("default", "typed", CancellationToken.None))!, "kaito.sh/test", CancellationToken.None));
        Assert.Equal(["kaito.sh/test"], (await client.GetAsync<V1ConfigMap>("default", "typed", CancellationToken.None))!.Metadata.Finalizers);
        Assert.True(await client.RemoveFinalizerAsync((await client.GetAsync<V1ConfigMap>("default", "typed", CancellationToken.None))!, "kaito.sh/test", CancellationToken.None));
        Assert.True(await client.DeleteAsync<V1ConfigMap>("default", "typed", null, CancellationToken.None));
        Assert.False(await client.DeleteAsync<V1ConfigMap>("default", "typed", null, CancellationToken.None));
        Assert.Equal(WriteResult.Gone, await client.PatchAsync(read, new { data = new { a = "3" } }, conditional: false, CancellationToken.None));
    }

    private static async Task<V1Secret?> SecretAsync(LocalClusterProcess cluster) =>
        (await cluster.Client.CoreV1.ListNamespacedSecretAsync("default")).Items.FirstOrDefault(s => s.Metadata.Name == "settings");

    private sealed class TestTelemetry(IMeterFactory meters) : ComponentTelemetry("Kaito.Tests", meters);

    private sealed class MirrorReconciler(ObjectClient client, ObjectCache cache) : IReconciler
    {
        private readonly ConcurrentDictionary<ObjectReference, int> _passes = new();

        public int Passes(string ns, string name) => _passes.GetValueOrDefault(new ObjectReference(ns, name));

        public async Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken)
        {
            _passes.AddOrUpdate(key, 1, (_, n) => n + 1);
            if (cache.Get<V1ConfigMap>(key) is not { } map || !(map.Metadata.Labels?.TryGetValue("mirror", out var mirror) == true && mirror == "true") || cache.Get<V1Secret>(key) is not null)
            {
                return ReconcileResult.Done;
            }

            await client.CreateAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta
                {
                    Name = map.Metadata.Name,
                    NamespaceProperty = map.Metadata.NamespaceProperty,
                    OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = map.Metadata.Name, Uid = map.Metadata.Uid, Controller = true }],
                },
                StringData = map.Data is null ? null : new Dictionary<string, string>(map.Data),
            }, cancellationToken);
            return ReconcileResult.Done;
        }
    }
}
