using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster;

/// <summary>
/// Prepares the cluster before it serves: the namespaces every cluster has (default, kube-system, kube-public,
/// kube-node-lease), and the custom resources of CRDs kept from an earlier run.
/// </summary>
public sealed class ClusterBootstrap(ClusterStore store, ResourceRegistry registry) : IHostedService
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

        foreach (var definition in store.List("apiextensions.k8s.io/customresourcedefinitions", null).Items)
        {
            registry.Register(definition);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
