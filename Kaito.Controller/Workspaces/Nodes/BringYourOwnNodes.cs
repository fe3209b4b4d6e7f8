using System.Collections.ObjectModel;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Nodes;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces.Nodes;

/// <summary>
/// Bring-your-own nodes (KAITO's disableNodeAutoProvisioning): the nodes matching the workspace's label selector are its
/// nodes; nothing is created or released. Their GPUs come from NVIDIA's GPU Feature Discovery labels, so the pods
/// request them as on provisioned nodes.
/// </summary>
public sealed class BringYourOwnNodes(ObjectCache cache) : INodeProvisioner
{
    public Task<bool> ProvisionAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int target, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        var selected = Selected(workspace);
        var ready = selected.Count(NodeChecks.IsReady);
        conditions.Set(ConditionTypes.NodesReady, ready >= target, ready >= target ? ConditionReasons.NodesReady : ConditionReasons.NodeNotReady,
            $"{ready} of {target} nodes are ready" + (NodeChecks.Pressure(selected) is { } pressure ? $"; warning: {pressure}" : ""));
        return Task.FromResult(ready >= target);
    }

    public Task<bool> ReleaseAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken) => Task.FromResult(true);

    public void Forget(ObjectReference key)
    {
    }

    public GpuSku? Gpus(Workspace workspace)
    {
        var ready = Selected(workspace).Where(NodeChecks.IsReady).ToList();
        if (WorkspaceNodes.UniformGpus([.. ready.Select(n => new NodeLabels(n.Metadata.Name, n.Metadata.Labels?.AsReadOnly() ?? ReadOnlyDictionary<string, string>.Empty))], out _) is { } labelled)
        {
            return labelled;
        }

        // No (or mixed) Feature Discovery labels: as many GPUs as every node's device plugin offers, memory unknown.
        var counts = ready.Select(n => n.Status?.Capacity?.TryGetValue(Resources.NvidiaGpu, out var q) == true ? (int)q.ToDecimal() : 0).Distinct().ToList();
        return counts is [> 0 and var count]
            ? new GpuSku { Cloud = "byo", Name = "unlabelled", GpuModel = "unknown", Gpus = count, GpuMemoryGiB = 0, Cpu = 0, MemoryGiB = 0 }
            : null;
    }

    public IReadOnlyList<string> WorkerNodes(ObjectReference key, Workspace workspace) =>
        [.. Selected(workspace).Where(NodeChecks.IsReady).Select(n => n.Metadata.Name).Order(StringComparer.Ordinal)];

    private List<V1Node> Selected(Workspace workspace) =>
        [.. cache.List<V1Node>().Where(n => WorkspaceNodes.Selects(workspace, n.Metadata.Labels?.AsReadOnly()))];
}
