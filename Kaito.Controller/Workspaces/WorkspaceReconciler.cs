using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Api;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Api.Sizing;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Reconciles a Workspace in KAITO's order: get → finalize if deleting → ensure finalizer → revision → target node
/// count → nodes (NodeClaims, node readiness); status written once at the end, from what was observed.
/// </summary>
public sealed partial class WorkspaceReconciler(
    IKubernetes client,
    Informer<Workspace> workspaces,
    Informer<NodeClaim> nodeClaims,
    Informer<V1Node> nodes,
    Informer<V1StatefulSet> statefulSets,
    Informer<V1Service> services,
    Informer<V1Job> jobs,
    Informer<V1Pod> pods,
    Expectations expectations,
    EventRecorder events,
    IOptions<ControllerOptions> options,
    TimeProvider clock,
    ILogger<WorkspaceReconciler> logger) : IReconciler
{
    private static readonly TimeSpan s_nodeWait = TimeSpan.FromSeconds(2);
    private readonly ControllerOptions _options = options.Value;

    public async Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken)
    {
        var workspace = workspaces.Get(key.Namespace, key.Name);
        if (workspace is null)
        {
            expectations.Forget(key);
            return ReconcileResult.Done;
        }

        if (workspace.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(key, workspace, cancellationToken);
        }

        if (!(workspace.Metadata.Finalizers?.Contains(Finalizers.Workspace) ?? false))
        {
            await PatchAsync(workspace, new { metadata = new { finalizers = (workspace.Metadata.Finalizers ?? []).Append(Finalizers.Workspace).ToList(), resourceVersion = workspace.Metadata.ResourceVersion } }, cancellationToken);
            return ReconcileResult.Done;
        }

        if (await EnsureRevisionAsync(workspace, cancellationToken))
        {
            return ReconcileResult.Done;
        }

        var status = workspace.Status ?? new WorkspaceStatus();
        var conditions = Conditions.Copy(status.Conditions);
        var preset = Preset(workspace);
        var target = status.TargetNodeCount is > 0 ? status.TargetNodeCount.Value : TargetNodeCount(workspace, preset);
        var result = await EnsureNodesAsync(key, workspace, preset, target, conditions, cancellationToken);

        var generation = workspace.Metadata.Generation ?? 1;
        var resourceReady = Conditions.IsTrue(conditions, ConditionTypes.NodesReady);
        Conditions.Set(conditions, ConditionTypes.ResourceReady, resourceReady,
            resourceReady ? ConditionReasons.ResourceReady : ConditionReasons.ResourceNotReady,
            resourceReady ? "The workspace's nodes are ready" : "Waiting for the workspace's nodes", generation, Now);

        var state = status.State ?? WorkspaceStates.Pending;
        if (resourceReady && workspace.Inference?.Preset is not null && preset is not null)
        {
            var serving = await EnsureInferenceAsync(workspace, preset, target, cancellationToken);
            var failure = serving ? null : InferenceFailure(workspace);
            Conditions.Set(conditions, ConditionTypes.InferenceReady, serving,
                serving ? ConditionReasons.InferenceReady : failure?.Reason ?? ConditionReasons.InferencePending,
                serving ? "Inference has been deployed successfully" : failure?.Message ?? "Waiting for the inference pods to be ready", generation, Now);
            if (!serving)
            {
                result = ReconcileResult.After(s_nodeWait);
            }
        }

        var ready = resourceReady && Conditions.IsTrue(conditions, ConditionTypes.InferenceReady);
        if (workspace.Inference is not null)
        {
            state = ready ? WorkspaceStates.Ready : state is WorkspaceStates.Ready or WorkspaceStates.NotReady ? WorkspaceStates.NotReady : WorkspaceStates.Pending;
            foreach (var summary in new[] { ConditionTypes.WorkspaceSucceeded, ConditionTypes.WorkspaceReady })
            {
                Conditions.Set(conditions, summary, ready, ready ? ConditionReasons.WorkspaceSucceeded : ConditionReasons.WorkspacePending,
                    ready ? "The workspace is serving" : "The workspace is not serving yet", generation, Now);
            }
        }
        else if (workspace.Tuning is not null)
        {
            var tuning = resourceReady && preset is not null
                ? await EnsureTuningAsync(workspace, preset, status, cancellationToken)
                : new TuningProgress(TuningPhase.Waiting, "Waiting for the workspace's nodes");
            state = SetTuningConditions(conditions, tuning, generation);
        }

        var workerNodes = WorkerNodes(workspace);
        await WriteStatusAsync(workspace, new WorkspaceStatus
        {
            Conditions = conditions,
            TargetNodeCount = target,
            WorkerNodes = workerNodes.Count > 0 ? workerNodes : null,
            State = state,
            Performance = status.Performance,
        }, cancellationToken);
        return result;
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private async Task<ReconcileResult> FinalizeAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken)
    {
        var claims = nodeClaims.ByIndex(NodeClaims.WorkspaceIndex, key.ToString());
        foreach (var claim in claims.Where(c => c.Metadata.DeletionTimestamp is null))
        {
            try
            {
                await client.CustomObjects.DeleteClusterCustomObjectAsync(KaitoGroup.Karpenter, KaitoGroup.KarpenterV1, NodeClaim.Plural, claim.Metadata.Name, cancellationToken: cancellationToken);
                LogNodeClaimDeleted(logger, key, claim.Metadata.Name);
                events.Record(workspace, EventRecorder.Normal, "NodeClaimDeleted", $"NodeClaim {claim.Metadata.Name} deleted");
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // already gone
            }
        }

        if (claims.Count > 0)
        {
            return ReconcileResult.After(s_nodeWait);
        }

        var remaining = (workspace.Metadata.Finalizers ?? []).Where(f => f != Finalizers.Workspace).ToList();
        if (remaining.Count != (workspace.Metadata.Finalizers?.Count ?? 0))
        {
            await PatchAsync(workspace, new { metadata = new { finalizers = remaining, resourceVersion = workspace.Metadata.ResourceVersion } }, cancellationToken);
            LogFinalized(logger, key);
        }

        expectations.Forget(key);
        return ReconcileResult.Done;
    }

    /// <summary>
    /// KAITO's syncControllerRevision: on a new specification hash, a ControllerRevision <c>&lt;ws&gt;-&lt;hash[:5]&gt;</c>
    /// holding the resource, inference and tuning sections (revision = latest + 1; a spec returning to an earlier hash
    /// moves that revision to the front), at most <see cref="RevisionHistoryLimit"/> kept; then the
    /// <c>workspace.kaito.io/hash</c> and <c>/revision</c> annotations. Returns true when it wrote (the update event
    /// brings the workspace back).
    /// </summary>
    private async Task<bool> EnsureRevisionAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var hash = SpecificationHash(workspace);
        var annotations = workspace.Metadata.Annotations ?? new Dictionary<string, string>();
        if (annotations.TryGetValue(Annotations.Hash, out var current) && current == hash)
        {
            return false;
        }

        var ns = workspace.Metadata.NamespaceProperty;
        var revisions = (await client.AppsV1.ListNamespacedControllerRevisionAsync(ns,
            labelSelector: $"{Labels.RevisionWorkspaceName}={workspace.Metadata.Name}", cancellationToken: cancellationToken)).Items
            .Where(r => r.Metadata.OwnerReferences?.Any(o => o.Uid == workspace.Metadata.Uid) ?? false)
            .OrderBy(r => r.Revision).ToList();
        var next = revisions.Select(r => (long?)r.Revision ?? 0).DefaultIfEmpty(0).Max() + 1;
        var same = revisions.FirstOrDefault(r => Annotation(r.Metadata, Annotations.Hash) == hash);
        if (same is not null)
        {
            await client.AppsV1.PatchNamespacedControllerRevisionAsync(
                new V1Patch(KubernetesJson.Serialize(new { revision = next }), V1Patch.PatchType.MergePatch), same.Metadata.Name, ns, cancellationToken: cancellationToken);
        }
        else
        {
            var revision = new V1ControllerRevision
            {
                Metadata = InferenceWorkload.Metadata(workspace, $"{workspace.Metadata.Name}-{hash[..5]}"),
                Revision = next,
                Data = new Dictionary<string, object?> { ["resource"] = workspace.Resource, ["inference"] = workspace.Inference, ["tuning"] = workspace.Tuning },
            };
            revision.Metadata.Labels[Labels.RevisionWorkspaceName] = workspace.Metadata.Name;
            revision.Metadata.Annotations = new Dictionary<string, string> { [Annotations.Hash] = hash };
            await CreateIgnoringConflictAsync(() => client.AppsV1.CreateNamespacedControllerRevisionAsync(revision, ns, cancellationToken: cancellationToken));
            revisions.Add(revision);
        }

        foreach (var old in revisions.Where(r => r != same && Annotation(r.Metadata, Annotations.Hash) != hash).Take(Math.Max(0, revisions.Count - RevisionHistoryLimit)))
        {
            try
            {
                await client.AppsV1.DeleteNamespacedControllerRevisionAsync(old.Metadata.Name, ns, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // already gone
            }
        }

        await PatchAsync(workspace, new
        {
            metadata = new
            {
                annotations = new Dictionary<string, string>
                {
                    [Annotations.Hash] = hash,
                    [Annotations.Revision] = next.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
                resourceVersion = workspace.Metadata.ResourceVersion,
            },
        }, cancellationToken);
        return true;
    }

    /// <summary>KAITO's MaxRevisionHistoryLimit.</summary>
    public const int RevisionHistoryLimit = 10;

    private async Task<ReconcileResult> EnsureNodesAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int target,
        List<V1Condition> conditions, CancellationToken cancellationToken)
    {
        var generation = workspace.Metadata.Generation ?? 1;
        if (!_options.AutoProvisioning)
        {
            var ready = SelectedNodes(workspace).Count(IsNodeReady);
            Conditions.Set(conditions, ConditionTypes.NodesReady, ready >= target,
                ready >= target ? ConditionReasons.NodesReady : ConditionReasons.NodeNotReady,
                $"{ready} of {target} nodes are ready", generation, Now);
            return ready >= target ? ReconcileResult.Done : ReconcileResult.After(s_nodeWait);
        }

        if (!expectations.Satisfied(key))
        {
            return ReconcileResult.After(TimeSpan.FromSeconds(1));
        }

        var claims = nodeClaims.ByIndex(NodeClaims.WorkspaceIndex, key.ToString()).Where(c => c.Metadata.DeletionTimestamp is null).ToList();
        var missing = target - claims.Count;
        if (missing > 0)
        {
            expectations.ExpectCreations(key, missing);
            for (var i = 0; i < missing; i++)
            {
                var claim = NodeClaims.For(workspace, preset, _options.Cloud, $"{clock.GetUtcNow().UtcTicks}-{i}");
                if (System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } reconcile)
                {
                    // The provisioner continues this trace: the node's provisioning shows under the workspace's reconcile.
                    claim.Metadata.Annotations[Annotations.TraceParent] = reconcile.Id!;
                }

                try
                {
                    await client.CustomObjects.CreateClusterCustomObjectAsync(claim, KaitoGroup.Karpenter, KaitoGroup.KarpenterV1, NodeClaim.Plural, cancellationToken: cancellationToken);
                    LogNodeClaimCreated(logger, key, claim.Metadata.Name);
                    events.Record(workspace, EventRecorder.Normal, "NodeClaimCreated", $"NodeClaim {claim.Metadata.Name} created for instance type {workspace.Resource?.InstanceType}");
                }
                catch (HttpOperationException ex)
                {
                    expectations.CreationObserved(key);
                    events.Record(workspace, EventRecorder.Warning, "NodeClaimCreationFailed", $"Creating NodeClaim {claim.Metadata.Name} failed: {ex.Response.Content ?? ex.Message}");
                    throw;
                }
            }
        }

        var readyClaims = claims.Count(NodeClaims.IsReady);
        var failed = claims.Select(c => c.Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.Launched && x.Status == "False")).FirstOrDefault(c => c is not null);
        Conditions.Set(conditions, ConditionTypes.NodeClaimReady, readyClaims >= target,
            readyClaims >= target ? ConditionReasons.NodeClaimsReady : failed?.Reason ?? ConditionReasons.NodeClaimNotReady,
            readyClaims >= target ? "Enough NodeClaims are ready" : failed?.Message ?? $"{readyClaims} of {target} NodeClaims are ready", generation, Now);

        // KAITO labels the GPU nodes it provisioned accelerator=nvidia (once; a labelled node is left alone).
        foreach (var node in claims.Where(NodeClaims.IsReady).Select(c => c.Status?.NodeName is { } n ? nodes.Get(null, n) : null).OfType<V1Node>()
                     .Where(n => IsNodeReady(n) && HasGpus(n, preset) && n.Metadata.Labels?.ContainsKey(Labels.Accelerator) != true))
        {
            await client.CoreV1.PatchNodeAsync(new V1Patch(KubernetesJson.Serialize(new { metadata = new { labels = new Dictionary<string, string> { [Labels.Accelerator] = Labels.AcceleratorNvidia } } }),
                V1Patch.PatchType.MergePatch), node.Metadata.Name, cancellationToken: cancellationToken);
        }

        var readyNodes = claims.Where(NodeClaims.IsReady).Select(c => c.Status?.NodeName is { } name ? nodes.Get(null, name) : null)
            .Count(n => n is not null && IsNodeReady(n) && HasGpus(n, preset) &&
                        (n.Metadata.Labels?.TryGetValue(Labels.InstanceType, out var type) == true ? type : null) == workspace.Resource!.InstanceType);
        var nodesReady = readyNodes >= target;
        Conditions.Set(conditions, ConditionTypes.NodesReady, nodesReady,
            nodesReady ? ConditionReasons.NodesReady : readyClaims >= target ? ConditionReasons.NodePluginsNotReady : ConditionReasons.NodeNotReady,
            $"{readyNodes} of {target} nodes are ready", generation, Now);
        return nodesReady ? ReconcileResult.Done : ReconcileResult.After(s_nodeWait);
    }

    /// <summary>
    /// Creates the Services once (they are never updated) and the StatefulSet, replacing its pod template when the
    /// workspace's revision changed; returns whether every replica is ready.
    /// </summary>
    private async Task<bool> EnsureInferenceAsync(Workspace workspace, ModelPreset preset, int replicas, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        foreach (var service in new[] { InferenceWorkload.Service(workspace), InferenceWorkload.HeadlessService(workspace) })
        {
            if (services.Get(ns, service.Metadata.Name) is null)
            {
                await CreateIgnoringConflictAsync(() => client.CoreV1.CreateNamespacedServiceAsync(service, ns, cancellationToken: cancellationToken));
            }
        }

        var revision = Annotation(workspace.Metadata, Annotations.Revision) ?? "1";
        var sku = GpuSkuCatalog.Default.Find(workspace.Resource?.InstanceType, _options.Cloud);
        var desired = InferenceWorkload.StatefulSet(workspace, preset, sku, replicas, revision, _options, _options.AutoProvisioning);
        var existing = statefulSets.Get(ns, workspace.Metadata.Name);
        if (existing is null)
        {
            await CreateIgnoringConflictAsync(() => client.AppsV1.CreateNamespacedStatefulSetAsync(desired, ns, cancellationToken: cancellationToken));
            events.Record(workspace, EventRecorder.Normal, "WorkloadCreated", $"StatefulSet {desired.Metadata.Name} created with {replicas} replica(s) serving {preset.Name}");
            return false;
        }

        if (Annotation(existing.Metadata, Annotations.Revision) != revision)
        {
            var patch = new { metadata = new { annotations = desired.Metadata.Annotations }, spec = new { replicas, template = desired.Spec.Template } };
            await client.AppsV1.PatchNamespacedStatefulSetAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch),
                existing.Metadata.Name, ns, cancellationToken: cancellationToken);
            events.Record(workspace, EventRecorder.Normal, "WorkloadUpdated", $"StatefulSet {existing.Metadata.Name} rolled to revision {revision}");
            return false;
        }

        return existing.Status?.ReadyReplicas is { } ready && ready >= (existing.Spec.Replicas ?? 1) && existing.Status.ObservedGeneration >= existing.Metadata.Generation;
    }

    private enum TuningPhase
    {
        Waiting,
        Created,
        Running,
        Succeeded,
        Failed,
    }

    private sealed record TuningProgress(TuningPhase Phase, string Message);

    /// <summary>JobStarted and the summaries from the job's progress (kaito-facts §1.1 status); returns the state.</summary>
    private string SetTuningConditions(List<V1Condition> conditions, TuningProgress tuning, long generation)
    {
        var (started, startedReason) = tuning.Phase switch
        {
            TuningPhase.Created or TuningPhase.Running or TuningPhase.Succeeded => (true, ConditionReasons.TuningJobStarted),
            TuningPhase.Failed => (false, ConditionReasons.TuningJobFailed),
            _ => (false, ConditionReasons.TuningJobPending),
        };
        Conditions.Set(conditions, ConditionTypes.JobStarted, started, startedReason,
            started && tuning.Phase != TuningPhase.Succeeded ? "The tuning job has started" : tuning.Message, generation, Now);
        var succeeded = tuning.Phase == TuningPhase.Succeeded;
        foreach (var summary in new[] { ConditionTypes.WorkspaceSucceeded, ConditionTypes.WorkspaceReady })
        {
            Conditions.Set(conditions, summary, succeeded,
                succeeded ? ConditionReasons.WorkspaceSucceeded : tuning.Phase == TuningPhase.Failed ? ConditionReasons.WorkspaceFailed : ConditionReasons.WorkspacePending,
                tuning.Message, generation, Now);
        }

        return tuning.Phase switch
        {
            TuningPhase.Succeeded => WorkspaceStates.Succeeded,
            TuningPhase.Failed => WorkspaceStates.Failed,
            TuningPhase.Running => WorkspaceStates.Running,
            _ => WorkspaceStates.Pending,
        };
    }

    /// <summary>
    /// Creates the tuning Job (and the default config template in the workspace's namespace) or, when the workspace's
    /// revision moved on, deletes the old Job so the next pass creates it anew; reports the Job's progress.
    /// </summary>
    private async Task<TuningProgress> EnsureTuningAsync(Workspace workspace, ModelPreset preset, WorkspaceStatus status, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        var revision = Annotation(workspace.Metadata, Annotations.Revision) ?? "1";
        var job = jobs.Get(ns, workspace.Metadata.Name);
        if (job is not null && Annotation(job.Metadata, Annotations.Revision) != revision)
        {
            if (job.Metadata.DeletionTimestamp is null)
            {
                await client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, ns, propagationPolicy: "Foreground", cancellationToken: cancellationToken);
                LogTuningJobReplaced(logger, ns, job.Metadata.Name, revision);
                events.Record(workspace, EventRecorder.Normal, "TuningJobReplaced", $"Job {job.Metadata.Name} deleted: the workspace moved to revision {revision}");
            }

            return new TuningProgress(TuningPhase.Waiting, "Replacing the tuning job of the previous revision");
        }

        if (job is null)
        {
            var config = await TuningConfigAsync(workspace, cancellationToken);
            if (config is null)
            {
                return new TuningProgress(TuningPhase.Waiting, $"ConfigMap {ns}/{workspace.Tuning!.Config} with {TrainingConfigValidator.FileName} does not exist");
            }

            var sku = GpuSkuCatalog.Default.Find(workspace.Resource?.InstanceType, _options.Cloud);
            var desired = TuningWorkload.Job(workspace, preset, sku, revision, TrainingConfigValidator.OutputDirectory(config), _options, _options.AutoProvisioning);
            await CreateIgnoringConflictAsync(() => client.BatchV1.CreateNamespacedJobAsync(desired, ns, cancellationToken: cancellationToken));
            LogTuningJobCreated(logger, ns, desired.Metadata.Name);
            events.Record(workspace, EventRecorder.Normal, "TuningJobCreated", $"Job {desired.Metadata.Name} created to tune {preset.Name} with {workspace.Tuning!.Method}");
            return new TuningProgress(TuningPhase.Created, "The tuning job has been created");
        }

        if (JobCondition(job, "Complete"))
        {
            if (!Conditions.IsTrue(status.Conditions, ConditionTypes.WorkspaceSucceeded))
            {
                events.Record(workspace, EventRecorder.Normal, "TuningJobSucceeded", $"Job {job.Metadata.Name} succeeded");
            }

            return new TuningProgress(TuningPhase.Succeeded, "The tuning job has succeeded");
        }

        if (JobCondition(job, "Failed"))
        {
            // The cause comes from the failed pod (the tuner's termination message). The pod cache can trail the Job's:
            // then the Job's own message stands until the pod arrives, whose event brings another pass; once the pods
            // are gone (TTL, a replaced Job) the status keeps what it says.
            var recorded = status.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.WorkspaceSucceeded && c.Reason == ConditionReasons.WorkspaceFailed);
            var (message, fromPod) = FailureMessage(job);
            if (recorded is null)
            {
                events.Record(workspace, EventRecorder.Warning, "TuningJobFailed", message);
                return new TuningProgress(TuningPhase.Failed, message);
            }

            return new TuningProgress(TuningPhase.Failed, fromPod ? message : recorded.Message);
        }

        return job.Status?.Active > 0
            ? new TuningProgress(TuningPhase.Running, "The tuning job is running")
            : new TuningProgress(TuningPhase.Created, "The tuning job's pod is pending");
    }

    private static bool JobCondition(V1Job job, string type) =>
        job.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;

    private (string Message, bool FromPod) FailureMessage(V1Job job)
    {
        // The Job's pods carry the workspace label, so the pod cache has them.
        var owned = pods.ByIndex(WorkspaceControllerExtensions.WorkspacePodsIndex, $"{job.Metadata.NamespaceProperty}/{job.Metadata.Name}")
            .Where(p => p.Metadata.OwnerReferences?.Any(o => o.Uid == job.Metadata.Uid) == true);
        var cause = owned.Where(p => p.Status?.Phase == "Failed").OrderByDescending(p => p.Metadata.CreationTimestamp)
            .Select(TuningWorkload.FailureCause).FirstOrDefault(c => c is not null);
        var condition = job.Status!.Conditions!.First(c => c.Type == "Failed" && c.Status == "True");
        var message = $"The tuning job failed ({condition.Reason}): {cause ?? condition.Message}";
        return (message.Length <= 1024 ? message : message[..1021] + "...", cause is not null);
    }

    /// <summary>
    /// The training configuration: the workspace's ConfigMap, or the method's default template, copied into the
    /// workspace's namespace from the release namespace (or from the built-in template) when missing there.
    /// Null when the workspace names a ConfigMap that does not exist.
    /// </summary>
    private async Task<string?> TuningConfigAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        var tuning = workspace.Tuning!;
        var name = TuningWorkload.ConfigMapName(tuning);
        var existing = await ReadConfigMapAsync(name, ns, cancellationToken);
        if (existing is not null || !string.IsNullOrEmpty(tuning.Config))
        {
            return existing?.Data?.TryGetValue(TrainingConfigValidator.FileName, out var yaml) == true ? yaml : null;
        }

        var template = await ReadConfigMapAsync(name, _options.ReleaseNamespace, cancellationToken);
        var copy = TuningWorkload.DefaultTemplate(tuning.Method, ns);
        if (template?.Data?.TryGetValue(TrainingConfigValidator.FileName, out var released) == true)
        {
            copy.Data[TrainingConfigValidator.FileName] = released;
        }

        await CreateIgnoringConflictAsync(() => client.CoreV1.CreateNamespacedConfigMapAsync(copy, ns, cancellationToken: cancellationToken));
        return copy.Data[TrainingConfigValidator.FileName];
    }

    private async Task<V1ConfigMap?> ReadConfigMapAsync(string name, string ns, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Why the inference pods are not ready, when a pod says so (kaito-facts §1.1 InferenceReady reasons): evicted,
    /// unschedulable, an image that cannot be pulled, a crash loop, OOM, a container that cannot start. Message at most
    /// 256 characters, as KAITO's.
    /// </summary>
    private (string Reason, string Message)? InferenceFailure(Workspace workspace)
    {
        var owned = pods.ByIndex(WorkspaceControllerExtensions.WorkspacePodsIndex, $"{workspace.Metadata.NamespaceProperty}/{workspace.Metadata.Name}");
        foreach (var pod in owned.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            if (Classify(pod) is { } failure)
            {
                var message = $"pod {pod.Metadata.Name}: {failure.Message}";
                return (failure.Reason, message.Length <= 256 ? message : message[..253] + "...");
            }
        }

        return null;
    }

    private static (string Reason, string Message)? Classify(V1Pod pod)
    {
        if (pod.Status?.Reason == "Evicted")
        {
            return (ConditionReasons.PodEvicted, pod.Status.Message ?? "evicted");
        }

        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable") is { } unscheduled)
        {
            return (ConditionReasons.Unschedulable, unscheduled.Message ?? "no node fits the pod");
        }

        foreach (var container in (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []))
        {
            var waiting = container.State?.Waiting;
            var terminated = container.State?.Terminated ?? container.LastState?.Terminated;
            var said = waiting?.Message ?? terminated?.Message;
            var detail = string.IsNullOrEmpty(said)
                ? $"container {container.Name}: {waiting?.Reason ?? terminated?.Reason}"
                : $"container {container.Name}: {waiting?.Reason ?? terminated?.Reason}: {said}";
            switch (waiting?.Reason)
            {
                case "ErrImagePull" or "ImagePullBackOff" or "InvalidImageName":
                    return (ConditionReasons.ImagePullError, detail);
                case "CrashLoopBackOff" when terminated?.Reason == "OOMKilled":
                    return (ConditionReasons.ContainerOOMKilled, $"container {container.Name} was killed for exceeding its memory limit (restarted {container.RestartCount} times)");
                case "CrashLoopBackOff":
                    return (ConditionReasons.ContainerCrashLoopBackOff, detail);
                case "CreateContainerError" or "CreateContainerConfigError" or "RunContainerError" or "StartError":
                    return (ConditionReasons.ContainerStartError, detail);
            }

            if (terminated?.Reason == "OOMKilled")
            {
                return (ConditionReasons.ContainerOOMKilled, $"container {container.Name} was killed for exceeding its memory limit");
            }
        }

        return null;
    }

    private static string? Annotation(V1ObjectMeta metadata, string key) =>
        metadata.Annotations?.TryGetValue(key, out var value) == true ? value : null;

    private static async Task CreateIgnoringConflictAsync(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // created meanwhile (the cache was behind): the next event brings it in
        }
    }

    private List<V1Node> SelectedNodes(Workspace workspace)
    {
        var selector = workspace.Resource?.LabelSelector?.MatchLabels ?? new Dictionary<string, string>();
        return nodes.List().Where(n => selector.Where(s => !Labels.IsReserved(s.Key))
            .All(s => n.Metadata.Labels?.TryGetValue(s.Key, out var value) == true && value == s.Value)).ToList();
    }

    private List<string> WorkerNodes(Workspace workspace) =>
        _options.AutoProvisioning
            ? nodeClaims.ByIndex(NodeClaims.WorkspaceIndex, $"{workspace.Metadata.NamespaceProperty}/{workspace.Metadata.Name}")
                .Select(c => c.Status?.NodeName).OfType<string>().Where(n => nodes.Get(null, n) is not null).Order(StringComparer.Ordinal).ToList()
            : SelectedNodes(workspace).Where(IsNodeReady).Select(n => n.Metadata.Name).Order(StringComparer.Ordinal).ToList();

    private static bool IsNodeReady(V1Node node) =>
        node.Metadata.DeletionTimestamp is null && node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static bool HasGpus(V1Node node, ModelPreset? preset) =>
        preset?.CpuOnly == true ||
        (node.Status?.Capacity?.TryGetValue(Resources.NvidiaGpu, out var gpus) == true && gpus.ToDecimal() > 0);

    private static ModelPreset? Preset(Workspace workspace) =>
        ModelCatalog.Default.TryResolve(workspace.Inference?.Preset?.Name ?? workspace.Tuning?.Preset?.Name, out var preset) ? preset : null;

    /// <summary>Set once: the estimator for presets (vLLM), the deprecated count otherwise, one node for tuning.</summary>
    private int TargetNodeCount(Workspace workspace, ModelPreset? preset)
    {
        if (workspace.Tuning is not null || preset is null || preset.CpuOnly)
        {
            return workspace.Tuning is not null ? 1 : workspace.Resource?.Count ?? 1;
        }

        var sku = GpuSkuCatalog.Default.Find(workspace.Resource?.InstanceType, _options.Cloud);
        return sku is not null && NodeEstimator.Estimate(preset, sku) is { Fits: true } estimate ? estimate.Nodes : workspace.Resource?.Count ?? 1;
    }

    private async Task WriteStatusAsync(Workspace workspace, WorkspaceStatus status, CancellationToken cancellationToken)
    {
        if (Json(workspace.Status) == Json(status))
        {
            return;
        }

        await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(KubernetesJson.Serialize(new { status }), V1Patch.PatchType.MergePatch),
            KaitoGroup.Name, KaitoGroup.V1Beta1, workspace.Metadata.NamespaceProperty, Workspace.Plural, workspace.Metadata.Name,
            cancellationToken: cancellationToken);
    }

    private Task<object> PatchAsync(Workspace workspace, object patch, CancellationToken cancellationToken) =>
        client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch),
            KaitoGroup.Name, KaitoGroup.V1Beta1, workspace.Metadata.NamespaceProperty, Workspace.Plural, workspace.Metadata.Name,
            cancellationToken: cancellationToken);

    /// <summary>sha256 of the JSON of <c>resource</c>, <c>inference</c> and <c>tuning</c>, as KAITO's hash annotation.</summary>
    public static string SpecificationHash(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var json = Json(workspace.Resource) + Json(workspace.Inference) + Json(workspace.Tuning);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaim {NodeClaim} created")]
    private static partial void LogNodeClaimCreated(ILogger logger, ObjectReference workspace, string nodeClaim);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaim {NodeClaim} deleted")]
    private static partial void LogNodeClaimDeleted(ILogger logger, ObjectReference workspace, string nodeClaim);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job {Namespace}/{Job} created")]
    private static partial void LogTuningJobCreated(ILogger logger, string @namespace, string job);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job {Namespace}/{Job} deleted: the workspace moved to revision {Revision}")]
    private static partial void LogTuningJobReplaced(ILogger logger, string @namespace, string job, string revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaims gone, finalizer removed")]
    private static partial void LogFinalized(ILogger logger, ObjectReference workspace);
}
