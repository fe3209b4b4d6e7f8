using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster;

/// <summary>Creates what every cluster starts with: the default, kube-system, kube-public and kube-node-lease namespaces.</summary>
public sealed class ClusterBootstrap(ClusterStore store) : IHostedService
{
    private static readonly string[] s_namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var namespaces = BuiltInTypes.All.Single(t => t.GroupResource == "/namespaces");
        foreach (var name in s_namespaces)
        {
            if (store.Get(new ObjectKey(namespaces.GroupResource, "", name)) is null)
            {
                store.Create(namespaces, "", new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Namespace",
                    ["metadata"] = new JsonObject { ["name"] = name },
                });
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
