using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// The kubelet side of nodes: a registered node reports Ready, allocatable resources, its kubelet version and its address
/// (every node is the host, 127.0.0.1).
/// </summary>
internal sealed class NodeController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        foreach (var node in context.List(Kinds.Node).Where(n => !Objects.IsDeleting(n)))
        {
            var updated = node.DeepClone().AsObject();
            var status = updated["status"] as JsonObject ?? [];
            updated["status"] = status;
            var capacity = status["capacity"] as JsonObject ?? new JsonObject { ["cpu"] = "8", ["memory"] = "32Gi", ["pods"] = "110" };
            capacity["pods"] ??= "110";
            status["capacity"] = capacity;
            status["allocatable"] ??= capacity.DeepClone();
            status["nodeInfo"] ??= new JsonObject
            {
                ["kubeletVersion"] = "v1.32.0",
                ["operatingSystem"] = "linux",
                ["architecture"] = "amd64",
                ["containerRuntimeVersion"] = "kaito-local://1.0",
            };
            status["addresses"] ??= new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = LoopbackAddresses.Node },
                new JsonObject { ["type"] = "Hostname", ["address"] = Objects.Name(node) });
            if (Objects.ConditionStatus(updated, "Ready") is null)
            {
                Objects.SetCondition(status, "Ready", "True", "KubeletReady", "kubelet is posting ready status", context.Timestamp);
            }

            context.Update(Kinds.Node, node, updated, status: true);
        }
    }
}
