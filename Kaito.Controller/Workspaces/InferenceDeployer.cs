using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;
using Kaito.Controller.Workspaces.Nodes;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Serves a workspace's preset (KAITO's pkg/workspace/inference): the Services once (they are never updated), with
/// <see cref="ControllerOptions.NetworkPolicies"/> a NetworkPolicy once (<see cref="InferenceWorkload.NetworkPolicy"/>), the
/// StatefulSet — its pod template replaced when the workspace's revision moves on — and InferenceReady from its
/// readiness, or why its pods are not ready.
/// </summary>
public sealed class InferenceDeployer(ObjectClient client, ObjectCache cache, EventRecorder events, INodeProvisioner nodes, IOptions<ControllerOptions> options)
{
    private readonly ControllerOptions _options = options.Value;

    /// <summary>Deploys and sets InferenceReady; returns whether every replica is ready.</summary>
    public Task<bool> DeployAsync(Workspace workspace, ModelPreset preset, int replicas, WorkspaceConditions conditions, CancellationToken cancellationToken) =>
        DeployAsync(workspace, workspace?.Inference!, preset, replicas, conditions, cancellationToken);

    /// <summary>Deploys <paramref name="inference"/> (the workspace's own, or a tuning workspace's output) and sets InferenceReady.</summary>
    public async Task<bool> DeployAsync(Workspace workspace, InferenceSpec inference, ModelPreset preset, int replicas, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(inference);
        ArgumentNullException.ThrowIfNull(conditions);
        await EnsureServicesAsync(workspace, cancellationToken);
        var sku = nodes.Gpus(workspace);
        var desired = InferenceWorkload.StatefulSet(workspace, inference, preset, sku, replicas, RevisionSync.Of(workspace.Metadata), _options, _options.AutoProvisioning);
        var what = workspace.Tuning is null ? preset.Name : $"{preset.Name} with the tuned adapter {workspace.Metadata.Name}";
        var serving = await EnsureStatefulSetAsync(workspace, desired, what, cancellationToken);
        return SetReady(workspace, serving, conditions);
    }

    /// <summary>
    /// Stops serving (a tuning workspace training again, or opting out): deletes the StatefulSet, which frees the node's
    /// GPUs for the job; the Services stay, so the ClusterIP does not change. True when there was something to stop.
    /// </summary>
    public async Task<bool> StopAsync(Workspace workspace, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var existing = cache.Get<V1StatefulSet>(workspace.Metadata.NamespaceProperty, workspace.Metadata.Name);
        if (existing is null || existing.Metadata.DeletionTimestamp is not null)
        {
            return false;
        }

        await client.DeleteAsync<V1StatefulSet>(existing.Metadata.NamespaceProperty, existing.Metadata.Name, "Background", cancellationToken);
        events.Record(workspace, EventRecorder.Normal, "WorkloadDeleted", $"StatefulSet {existing.Metadata.Name} deleted: {reason}");
        return true;
    }

    /// <summary>
    /// Deploys the workspace's own pod template (KAITO's template_inference.go) behind the same Services and sets
    /// InferenceReady as for a preset. Unlike KAITO, which creates it once, a changed template rolls like a preset's.
    /// </summary>
    public async Task<bool> DeployTemplateAsync(Workspace workspace, int replicas, WorkspaceConditions conditions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(conditions);
        await EnsureServicesAsync(workspace, cancellationToken);
        var desired = InferenceWorkload.TemplateStatefulSet(workspace, replicas, RevisionSync.Of(workspace.Metadata), _options.AutoProvisioning);
        var serving = await EnsureStatefulSetAsync(workspace, desired, "the workspace's pod template", cancellationToken);
        return SetReady(workspace, serving, conditions);
    }

    private bool SetReady(Workspace workspace, bool serving, WorkspaceConditions conditions)
    {
        // The serving pods only: a tuning workspace's finished Job pods say nothing about them.
        var failure = serving ? null : PodFailures.Of(cache.ByIndex<V1Pod>(WorkspaceControllerExtensions.WorkspacePodsIndex, Key(workspace))
            .Where(p => p.Metadata.OwnerReferences?.Any(o => o.Kind == "Job") != true), name => cache.Get<V1Node>(null, name));
        conditions.Set(ConditionTypes.InferenceReady, serving,
            (ConditionReasons.InferenceReady, "Inference has been deployed successfully"),
            (failure?.Reason ?? ConditionReasons.InferencePending, failure?.Message ?? "Waiting for the inference pods to be ready"));
        return serving;
    }

    private async Task EnsureServicesAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        foreach (var service in new[] { InferenceWorkload.Service(workspace), InferenceWorkload.HeadlessService(workspace) })
        {
            if (cache.Get<V1Service>(ns, service.Metadata.Name) is null)
            {
                await client.CreateAsync(service, cancellationToken);
            }
        }

        if (_options.NetworkPolicies && cache.Get<V1NetworkPolicy>(ns, workspace.Metadata.Name) is null)
        {
            await client.CreateAsync(InferenceWorkload.NetworkPolicy(workspace), cancellationToken);
        }
    }

    /// <summary>Creates the StatefulSet, or replaces its pod template when the workspace's revision moved on; true when every replica is ready.</summary>
    private async Task<bool> EnsureStatefulSetAsync(Workspace workspace, V1StatefulSet desired, string what, CancellationToken cancellationToken)
    {
        var replicas = desired.Spec.Replicas ?? 1;
        var revision = RevisionSync.Annotation(desired.Metadata, Annotations.Revision);
        var existing = cache.Get<V1StatefulSet>(workspace.Metadata.NamespaceProperty, workspace.Metadata.Name);
        if (existing?.Metadata.DeletionTimestamp is not null)
        {
            return false;
        }

        if (existing is null)
        {
            await client.CreateAsync(desired, cancellationToken);
            events.Record(workspace, EventRecorder.Normal, "WorkloadCreated", $"StatefulSet {desired.Metadata.Name} created with {replicas} replica(s) serving {what}");
            return false;
        }

        if (RevisionSync.Annotation(existing.Metadata, Annotations.Revision) != revision)
        {
            await client.PatchAsync(existing, new { metadata = new { annotations = desired.Metadata.Annotations }, spec = new { replicas, template = desired.Spec.Template } },
                conditional: false, cancellationToken);
            events.Record(workspace, EventRecorder.Normal, "WorkloadUpdated", $"StatefulSet {existing.Metadata.Name} rolled to revision {revision}");
            return false;
        }

        return existing.Status?.ReadyReplicas is { } ready && ready >= (existing.Spec.Replicas ?? 1) && existing.Status.ObservedGeneration >= existing.Metadata.Generation;
    }

    internal static string Key(Workspace workspace) => new ObjectReference(workspace.Metadata.NamespaceProperty, workspace.Metadata.Name).ToString();
}
