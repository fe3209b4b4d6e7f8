using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;

namespace Kaito.Controller.Workspaces.Nodes;

/// <summary>What makes a node count for a workspace: Ready and not going, with GPUs unless the model runs on the CPU.</summary>
public static class NodeChecks
{
    public static bool IsReady(V1Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Metadata.DeletionTimestamp is null && node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
    }

    /// <summary>The pressure conditions a node reports (DiskPressure, MemoryPressure, PIDPressure), as KAITO's warning text; null when none.</summary>
    public static string? Pressure(IEnumerable<V1Node> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var pressed = nodes.SelectMany(n => (n.Status?.Conditions ?? []).Where(c => c.Type.EndsWith("Pressure", StringComparison.Ordinal) && c.Status == "True")
            .Select(c => $"node {n.Metadata.Name} has {c.Type}")).ToList();
        return pressed.Count == 0 ? null : string.Join(", ", pressed);
    }

    public static bool HasGpus(V1Node node, ModelPreset? preset)
    {
        ArgumentNullException.ThrowIfNull(node);
        return preset?.CpuOnly == true || (node.Status?.Capacity?.TryGetValue(Resources.NvidiaGpu, out var gpus) == true && gpus.ToDecimal() > 0);
    }
}
