using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Serves a workspace's preset (KAITO's pkg/workspace/inference): the Services once (they are never updated), the
/// StatefulSet — its pod template replaced when the workspace's revision moves on — and InferenceReady from its
/// readiness, or why its pods are not ready.
/// </summary>
public sealed class InferenceDeployer(ObjectClient client, ObjectCache cache, EventRecorder events, IOptions<ControllerOptions> options)
{
    private readonly ControllerOptions _options = options.Value;

    /// <summary>Deploys and sets InferenceReady; returns whether every replica is ready.</summary>
    public async Task<bool> DeployAsync(Workspace workspace, ModelPreset preset, int replicas, WorkspaceConditions conditions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(conditions);
        var serving = await EnsureAsync(workspace, preset, replicas, cancellationToken);
        var failure = serving ? null : PodFailures.Of(cache.ByIndex<V1Pod>(WorkspaceControllerExtensions.WorkspacePodsIndex, Key(workspace)));
        conditions.Set(ConditionTypes.InferenceReady, serving,
            (ConditionReasons.InferenceReady, "Inference has been deployed successfully"),
            (failure?.Reason ?? ConditionReasons.InferencePending, failure?.Message ?? "Waiting for the inference pods to be ready"));
        return serving;
    }

    private async Task<bool> EnsureAsync(Workspace workspace, ModelPreset preset, int replicas, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        foreach (var service in new[] { InferenceWorkload.Service(workspace), InferenceWorkload.HeadlessService(workspace) })
        {
            if (cache.Get<V1Service>(ns, service.Metadata.Name) is null)
            {
                await client.CreateAsync(service, cancellationToken);
            }
        }

        var revision = RevisionSync.Of(workspace.Metadata);
        var sku = GpuSkuCatalog.Default.Find(workspace.Resource?.InstanceType, _options.Cloud);
        var desired = InferenceWorkload.StatefulSet(workspace, preset, sku, replicas, revision, _options, _options.AutoProvisioning);
        var existing = cache.Get<V1StatefulSet>(ns, workspace.Metadata.Name);
        if (existing is null)
        {
            await client.CreateAsync(desired, cancellationToken);
            events.Record(workspace, EventRecorder.Normal, "WorkloadCreated", $"StatefulSet {desired.Metadata.Name} created with {replicas} replica(s) serving {preset.Name}");
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
