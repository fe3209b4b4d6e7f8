using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Tests;

/// <summary>A watch whose client stops reading holds a bounded number of changes, then is closed for it to resume.</summary>
public sealed class WatchBufferTests
{
    private static readonly ResourceType s_configMaps = BuiltInTypes.All.Single(t => t.Plural == "configmaps");
    private static readonly ResourceType s_namespaces = BuiltInTypes.All.Single(t => t.Plural == "namespaces");

    [Fact]
    public async Task AWatchThatIsNotReadIsClosedOnceItsBufferIsFullAndNothingMoreIsHeldForIt()
    {
        var store = new ClusterStore(Options.Create(new LocalClusterOptions { WatchBuffer = 5 }), TimeProvider.System, new InMemoryPersistence());
        store.Create(s_namespaces, "", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "default" } });
        store.Create(s_configMaps, "default", ConfigMap("before"));
        using var watch = store.StartWatch(s_configMaps.GroupResource, "default", resourceVersion: null);

        for (var i = 0; i < 20; i++)
        {
            store.Create(s_configMaps, "default", ConfigMap($"after-{i}"));
        }

        var received = new List<string>();
        await foreach (var change in watch.Events.ReadAllAsync())
        {
            received.Add((string)change.Item["metadata"]!["name"]!);
        }

        // the replayed object, then the five changes its buffer held; the stream then ends for the client to re-watch
        Assert.Equal(["before", "after-0", "after-1", "after-2", "after-3", "after-4"], received);
        var resumed = store.StartWatch(s_configMaps.GroupResource, "default", store.Get(new ObjectKey(s_configMaps.GroupResource, "default", "after-4"))!["metadata"]!["resourceVersion"]!.ToString());
        Assert.True(resumed.Events.TryRead(out var next));
        Assert.Equal("after-5", (string)next.Item["metadata"]!["name"]!);
        resumed.Dispose();
    }

    private static JsonObject ConfigMap(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name },
    };
}
