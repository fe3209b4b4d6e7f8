using Kaito.Api.Catalog;
using Kaito.Api.Workspaces;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces.Nodes;

/// <summary>
/// How a workspace gets its nodes — KAITO's NodeProvisioner (pkg/nodeprovision): auto-provisioned through NodeClaims
/// (<see cref="NodeClaimProvisioner"/>) or the user's own labelled nodes (<see cref="BringYourOwnNodes"/>).
/// </summary>
public interface INodeProvisioner
{
    /// <summary>
    /// Brings the workspace to <paramref name="target"/> ready nodes (or waits for them), setting NodeClaimReady and
    /// NodesReady; returns whether they are ready.
    /// </summary>
    Task<bool> ProvisionAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int target, WorkspaceConditions conditions,
        CancellationToken cancellationToken);

    /// <summary>Releases the workspace's nodes before its finalizer goes; true once nothing of them remains.</summary>
    Task<bool> ReleaseAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken);

    /// <summary>Drops what is remembered of a workspace that is gone.</summary>
    void Forget(ObjectReference key);

    /// <summary>
    /// The GPUs of each of the workspace's nodes: its instance type's from the SKU table, or with bring-your-own nodes
    /// what their GPU Feature Discovery labels (or, without them, their device plugin) say. Null when unknown.
    /// </summary>
    GpuSku? Gpus(Workspace workspace);

    /// <summary>The names of the workspace's nodes, for <c>status.workerNodes</c>.</summary>
    IReadOnlyList<string> WorkerNodes(ObjectReference key, Workspace workspace);
}
