using System.Globalization;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Api.Nodes;

/// <summary>A node as admission and bring-your-own sizing see it: its name and labels.</summary>
public sealed record NodeLabels(string Name, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// Bring-your-own nodes (KAITO's pkg/nodeprovision/byo-provisioner and pkg/utils/nodes): which nodes a workspace's label
/// selector picks, with the keys KAITO reserves left out, and the GPUs those nodes have according to the labels of
/// NVIDIA's GPU Feature Discovery.
/// </summary>
public static class WorkspaceNodes
{
    /// <summary>The GPU model, for example NVIDIA-A100-80GB-PCIe.</summary>
    public const string GpuProduct = "nvidia.com/gpu.product";

    /// <summary>GPUs on the node.</summary>
    public const string GpuCount = "nvidia.com/gpu.count";

    /// <summary>Memory of one GPU in MiB.</summary>
    public const string GpuMemory = "nvidia.com/gpu.memory";

    /// <summary>Whether the workspace's selector (matchLabels and matchExpressions, reserved keys left out) picks a node with these labels.</summary>
    public static bool Selects(Workspace workspace, IReadOnlyDictionary<string, string>? labels)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        labels ??= new Dictionary<string, string>();
        var selector = workspace.Resource?.LabelSelector;
        return (selector?.MatchLabels ?? new Dictionary<string, string>()).Where(l => !Names.Labels.IsReserved(l.Key))
                   .All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value)
               && (selector?.MatchExpressions ?? []).Where(e => !Names.Labels.IsReserved(e.Key)).All(e => Matches(e, labels));
    }

    /// <summary>
    /// The GPUs of a node from its GPU Feature Discovery labels, as a SKU named after the product: count, and memory as
    /// KAITO reads it (MiB per GPU rounded to GiB, times the count). Null with <paramref name="problem"/> when the labels
    /// are missing or unreadable.
    /// </summary>
    public static GpuSku? Gpus(NodeLabels node, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(node);
        var missing = new[] { GpuProduct, GpuCount, GpuMemory }.Where(k => !node.Labels.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            problem = $"node {node.Name} has no {string.Join(", ", missing)} label{(missing.Count > 1 ? "s" : "")}: "
                      + "install NVIDIA's GPU Feature Discovery (or the GPU Operator) or label the node";
            return null;
        }

        if (!int.TryParse(node.Labels[GpuCount], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            problem = $"node {node.Name}: {GpuCount}={node.Labels[GpuCount]} is not a positive whole number";
            return null;
        }

        if (!long.TryParse(node.Labels[GpuMemory], NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib < 1)
        {
            problem = $"node {node.Name}: {GpuMemory}={node.Labels[GpuMemory]} is not a positive number of MiB";
            return null;
        }

        problem = null;
        return new GpuSku
        {
            Cloud = "byo",
            Name = node.Labels[GpuProduct],
            GpuModel = node.Labels[GpuProduct],
            Gpus = count,
            GpuMemoryGiB = Math.Round(mib / 1024.0) * count,
            Cpu = 0,
            MemoryGiB = 0,
        };
    }

    /// <summary>
    /// The GPUs of every node, which must be the same (KAITO refuses nodes with different products, counts or memory):
    /// null with <paramref name="problem"/> when a node has no readable labels or they differ.
    /// </summary>
    public static GpuSku? UniformGpus(IReadOnlyList<NodeLabels> nodes, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        GpuSku? first = null;
        string? firstNode = null;
        foreach (var node in nodes)
        {
            var gpus = Gpus(node, out problem);
            if (gpus is null)
            {
                return null;
            }

            if (first is null)
            {
                (first, firstNode) = (gpus, node.Name);
            }
            else if (gpus != first)
            {
                problem = $"the selected nodes have different GPUs: {firstNode} has {Describe(first)}, {node.Name} has {Describe(gpus)}; "
                          + "a workspace's nodes must be uniform";
                return null;
            }
        }

        problem = first is null ? "no nodes" : null;
        return first;
    }

    private static string Describe(GpuSku gpus) =>
        string.Create(CultureInfo.InvariantCulture, $"{gpus.Gpus}× {gpus.GpuModel} ({gpus.PerGpuMemoryGiB:0.#} GiB each)");

    private static bool Matches(V1LabelSelectorRequirement requirement, IReadOnlyDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(requirement.Key, out var value);
        return requirement.OperatorProperty switch
        {
            "In" => has && (requirement.Values ?? []).Contains(value),
            "NotIn" => !has || !(requirement.Values ?? []).Contains(value),
            "Exists" => has,
            "DoesNotExist" => !has,
            _ => false,
        };
    }
}
