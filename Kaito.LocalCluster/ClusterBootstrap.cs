using System.Text.Json.Nodes;
using Kaito.Api.Serialization;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster;

/// <summary>
/// Prepares the cluster before it serves (a failure here stops the process before its kubeconfig appears): the
/// namespaces every cluster has (default, kube-system, kube-public, kube-node-lease), the custom resources of CRDs
/// kept from an earlier run, and the Nodes of <c>--gpu-nodes</c>.
/// </summary>
public sealed partial class ClusterBootstrap(
    ClusterStore store,
    ResourceRegistry registry,
    IOptions<SimulationOptions> simulation,
    ILogger<ClusterBootstrap> logger) : IHostedService
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

        CreateNodes(simulation.Value.NodesFile);
        return Task.CompletedTask;
    }

    private void CreateNodes(string? file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return;
        }

        var nodes = KaitoYaml.LoadAll(File.ReadAllText(file), file);
        var wrong = nodes.FirstOrDefault(n => (string?)n["kind"] != "Node");
        if (wrong is not null)
        {
            throw new InvalidOperationException($"{file}: --gpu-nodes takes Node manifests; found kind {(string?)wrong["kind"]}.");
        }

        var type = BuiltInTypes.All.Single(t => t.GroupResource == "/nodes");
        foreach (var node in nodes)
        {
            node["apiVersion"] ??= "v1";
            try
            {
                store.Create(type, "", node);
                LogNodeCreated(logger, (string?)node["metadata"]?["name"]);
            }
            catch (ApiException ex) when (ex.Code == 409)
            {
                // kept from an earlier run (--data-dir)
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} created from the nodes file")]
    private static partial void LogNodeCreated(ILogger logger, string? node);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
