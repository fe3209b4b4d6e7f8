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
/// kept from an earlier run, the Nodes of <c>--gpu-nodes</c> and the <c>--system-node</c>.
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

        CreateNodes(simulation.Value.NodesFile, simulation.Value.SystemNode);
        return Task.CompletedTask;
    }

    private void CreateNodes(string? file, string? systemNode)
    {
        var nodes = string.IsNullOrEmpty(file) ? [] : KaitoYaml.LoadAll(File.ReadAllText(file), file).ToList();
        var wrong = nodes.FirstOrDefault(n => (string?)n["kind"] != "Node");
        if (wrong is not null)
        {
            throw new InvalidOperationException($"{file}: --gpu-nodes takes Node manifests; found kind {(string?)wrong["kind"]}.");
        }

        if (!string.IsNullOrWhiteSpace(systemNode))
        {
            nodes.Add(SystemNode(systemNode));
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

    /// <summary>The system node: this machine's CPUs and memory, AKS's system-pool labels, no GPU, no taint.</summary>
    private static JsonObject SystemNode(string name)
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject
                {
                    ["kubernetes.io/hostname"] = name,
                    ["kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = "amd64",
                    ["kubernetes.azure.com/mode"] = "system",
                },
            },
            ["status"] = new JsonObject
            {
                ["capacity"] = new JsonObject
                {
                    ["cpu"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["memory"] = $"{memory / (1024 * 1024)}Mi",
                    ["pods"] = "110",
                },
            },
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} created at start")]
    private static partial void LogNodeCreated(ILogger logger, string? node);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
