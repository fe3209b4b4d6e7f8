using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces.Nodes;

/// <summary>
/// Bring-your-own nodes (KAITO's disableNodeAutoProvisioning): the nodes matching the workspace's label selector are its
/// nodes; nothing is created or released.
/// </summary>
public sealed class BringYourOwnNodes(ObjectCache cache) : INodeProvisioner
{
    public Task<bool> ProvisionAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int target, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        var ready = Selected(workspace).Count(NodeChecks.IsReady);
        conditions.Set(ConditionTypes.NodesReady, ready >= target, ready >= target ? ConditionReasons.NodesReady : ConditionReasons.NodeNotReady,
            $"{ready} of {target} nodes are ready");
        return Task.FromResult(ready >= target);
    }

    public Task<bool> ReleaseAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken) => Task.FromResult(true);

    public void Forget(ObjectReference key)
    {
    }

    public IReadOnlyList<string> WorkerNodes(ObjectReference key, Workspace workspace) =>
        [.. Selected(workspace).Where(NodeChecks.IsReady).Select(n => n.Metadata.Name).Order(StringComparer.Ordinal)];

    private List<V1Node> Selected(Workspace workspace)
    {
        var selector = workspace.Resource?.LabelSelector?.MatchLabels ?? new Dictionary<string, string>();
        return [.. cache.List<V1Node>().Where(n => selector.Where(s => !Labels.IsReserved(s.Key))
            .All(s => n.Metadata.Labels?.TryGetValue(s.Key, out var value) == true && value == s.Value))];
    }
}
