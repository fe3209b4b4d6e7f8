using k8s;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Sizing;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Controller.Workspaces.Nodes;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Reconciles a Workspace as KAITO's Reconcile reads (pkg/workspace/controllers/workspace_controller.go): finalize when
/// deleting, else ensure the finalizer → sync the revision → target node count → provision nodes → deploy inference or
/// tuning → write the status, once, from what was observed. Each phase is its own class.
/// </summary>
public sealed partial class WorkspaceReconciler(
    ObjectClient client,
    ObjectCache cache,
    RevisionSync revisions,
    INodeProvisioner nodes,
    InferenceDeployer inference,
    TuningDeployer tuning,
    TimeProvider clock,
    ILogger<WorkspaceReconciler> logger) : IReconciler
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(2);

    public async Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken)
    {
        var workspace = cache.Get<Workspace>(key);
        if (workspace is null)
        {
            nodes.Forget(key);
            return ReconcileResult.Done;
        }

        if (workspace.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(key, workspace, cancellationToken);
        }

        if (await client.AddFinalizerAsync(workspace, Finalizers.Workspace, cancellationToken) || await revisions.SyncAsync(workspace, cancellationToken))
        {
            return ReconcileResult.Done;
        }

        var status = workspace.Status ?? new WorkspaceStatus();
        var conditions = new WorkspaceConditions(status.Conditions, workspace.Metadata.Generation ?? 1, clock.GetUtcNow().UtcDateTime);
        var preset = Preset(workspace);
        var target = status.TargetNodeCount is > 0 ? status.TargetNodeCount.Value : await TargetNodeCountAsync(workspace, preset, cancellationToken);
        var nodesReady = await nodes.ProvisionAsync(key, workspace, preset, target, conditions, cancellationToken);
        var resourceReady = conditions.IsTrue(ConditionTypes.NodesReady);
        conditions.Set(ConditionTypes.ResourceReady, resourceReady,
            (ConditionReasons.ResourceReady, "The workspace's nodes are ready"), (ConditionReasons.ResourceNotReady, "Waiting for the workspace's nodes"));

        var (state, settled) = workspace.Inference is not null
            ? await ServeAsync(workspace, preset, target, resourceReady, status.State, conditions, cancellationToken)
            : await tuning.DeployAsync(workspace, preset, resourceReady, status, conditions, cancellationToken);

        var workerNodes = nodes.WorkerNodes(key, workspace);
        await WriteStatusAsync(workspace, new WorkspaceStatus
        {
            Conditions = conditions.Items,
            TargetNodeCount = target,
            WorkerNodes = workerNodes.Count > 0 ? [.. workerNodes] : null,
            State = state,
            Performance = status.Performance,
        }, cancellationToken);
        return nodesReady && settled ? ReconcileResult.Done : ReconcileResult.After(s_wait);
    }

    /// <summary>Nodes first, then KAITO's order in reverse: the NodeClaims go before the finalizer; owned objects follow by ownerReference.</summary>
    private async Task<ReconcileResult> FinalizeAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken)
    {
        if (workspace.Metadata.Finalizers?.Contains(Finalizers.Workspace) == true && !Conditions.IsTrue(workspace.Status?.Conditions, ConditionTypes.WorkspaceDeleting))
        {
            // KAITO's WorkspaceDeleting, so `kubectl get -o yaml` says why the workspace lingers while its nodes go.
            var status = workspace.Status ?? new WorkspaceStatus();
            var conditions = new WorkspaceConditions(status.Conditions, workspace.Metadata.Generation ?? 1, clock.GetUtcNow().UtcDateTime);
            conditions.Set(ConditionTypes.WorkspaceDeleting, true, ConditionReasons.WorkspaceDeleted, "workspace is being deleted");
            await WriteStatusAsync(workspace, new WorkspaceStatus
            {
                Conditions = conditions.Items,
                TargetNodeCount = status.TargetNodeCount,
                WorkerNodes = status.WorkerNodes,
                State = status.State,
                Performance = status.Performance,
            }, cancellationToken);
            // The status write's own event brings the next pass, which releases the nodes.
            return ReconcileResult.Done;
        }

        if (!await nodes.ReleaseAsync(key, workspace, cancellationToken))
        {
            return ReconcileResult.After(s_wait);
        }

        if (await client.RemoveFinalizerAsync(workspace, Finalizers.Workspace, cancellationToken))
        {
            LogFinalized(logger, key);
        }

        return ReconcileResult.Done;
    }

    /// <summary>Inference (a preset or the workspace's pod template) once the nodes are ready; the state and summaries from InferenceReady. Settled when serving.</summary>
    private async Task<(string State, bool Settled)> ServeAsync(Workspace workspace, ModelPreset? preset, int target, bool resourceReady, string? previous,
        WorkspaceConditions conditions, CancellationToken cancellationToken)
    {
        var settled = true;
        if (resourceReady && workspace.Inference?.Preset is not null && preset is not null)
        {
            settled = await inference.DeployAsync(workspace, preset, target, conditions, cancellationToken);
        }
        else if (resourceReady && workspace.Inference?.Template is not null)
        {
            settled = await inference.DeployTemplateAsync(workspace, target, conditions, cancellationToken);
        }

        var ready = resourceReady && conditions.IsTrue(ConditionTypes.InferenceReady);
        foreach (var summary in new[] { ConditionTypes.WorkspaceSucceeded, ConditionTypes.WorkspaceReady })
        {
            conditions.Set(summary, ready, (ConditionReasons.WorkspaceSucceeded, "The workspace is serving"),
                (ConditionReasons.WorkspacePending, "The workspace is not serving yet"));
        }

        var state = ready ? WorkspaceStates.Ready
            : previous is WorkspaceStates.Ready or WorkspaceStates.NotReady ? WorkspaceStates.NotReady
            : WorkspaceStates.Pending;
        return (state, settled);
    }

    private async Task WriteStatusAsync(Workspace workspace, WorkspaceStatus status, CancellationToken cancellationToken)
    {
        if (Json(workspace.Status) != Json(status))
        {
            // Conditional on the version the status was computed from: a conflict means a newer workspace, whose event
            // brings another pass.
            await client.PatchStatusAsync(workspace, status, cancellationToken);
        }
    }

    private static ModelPreset? Preset(Workspace workspace) =>
        ModelCatalog.Default.TryResolve(workspace.Inference?.Preset?.Name ?? workspace.Tuning?.Preset?.Name, out var preset) ? preset : null;

    /// <summary>
    /// Set once: the estimator for presets (vLLM), with the context length of the workspace's inference ConfigMap
    /// (<c>vllm.max-model-len</c>) as KAITO's estimator reads it; the deprecated count otherwise; one node for tuning.
    /// </summary>
    private async Task<int> TargetNodeCountAsync(Workspace workspace, ModelPreset? preset, CancellationToken cancellationToken)
    {
        if (workspace.Tuning is not null || preset is null || preset.CpuOnly)
        {
            return workspace.Tuning is not null ? 1 : workspace.Resource?.Count ?? 1;
        }

        var sku = nodes.Gpus(workspace);
        if (sku is not { GpuMemoryGiB: > 0 })
        {
            return workspace.Resource?.Count ?? 1;
        }

        var config = workspace.Inference?.Config is { Length: > 0 } name
            ? await client.GetAsync<V1ConfigMap>(workspace.Metadata.NamespaceProperty, name, cancellationToken)
            : null;
        var maxModelLength = InferenceConfigValidator.MaxModelLength(workspace,
            new ValidationContext { ConfigMaps = _ => config?.Data?.AsReadOnly() });
        return NodeEstimator.Estimate(preset, sku, maxModelLength) is { Fits: true } estimate ? estimate.Nodes : workspace.Resource?.Count ?? 1;
    }

    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaims gone, finalizer removed")]
    private static partial void LogFinalized(ILogger logger, ObjectReference workspace);
}
