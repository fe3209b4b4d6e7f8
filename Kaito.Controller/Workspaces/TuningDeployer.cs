using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Controller.Workspaces.Nodes;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Tunes a workspace's preset (KAITO's pkg/workspace/tuning): creates the Job (and the default training config in the
/// workspace's namespace), replaces it when the workspace's revision moves on, and sets JobStarted and the summaries
/// from its progress — with the tuner's own cause when it failed. Unlike KAITO, a finished workspace then serves what
/// it produced at its own Service (the base model with the new adapter, <see cref="InferenceWorkload.TuningOutput"/>),
/// so the brief's <c>POST http://$CLUSTERIP/chat</c> answers with the tuned model; WorkspaceSucceeded says the job
/// succeeded, InferenceReady and WorkspaceReady that the adapter is being served. <c>kaito.sh/serve-tuning-output:
/// "false"</c> keeps KAITO's behaviour (nothing served, no GPU held after the job).
/// </summary>
public sealed partial class TuningDeployer(
    ObjectClient client,
    ObjectCache cache,
    EventRecorder events,
    InferenceDeployer inference,
    INodeProvisioner nodes,
    IOptions<ControllerOptions> options,
    ILogger<TuningDeployer> logger)
{
    private readonly ControllerOptions _options = options.Value;

    private enum Phase
    {
        Waiting,
        Replacing,
        Created,
        Running,
        Succeeded,
        Failed,
    }

    /// <summary>
    /// Deploys (when the nodes are ready) and sets the tuning conditions; returns the workspace's state and whether it
    /// has settled (nothing more to wait for).
    /// </summary>
    public async Task<(string State, bool Settled)> DeployAsync(Workspace workspace, ModelPreset? preset, bool nodesReady, WorkspaceStatus status, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(conditions);
        var (phase, message) = nodesReady && preset is not null
            ? await EnsureAsync(workspace, preset, status, cancellationToken)
            : (Phase.Waiting, "Waiting for the workspace's nodes");

        var (started, startedReason) = phase switch
        {
            Phase.Created or Phase.Running or Phase.Succeeded => (true, ConditionReasons.TuningJobStarted),
            Phase.Failed => (false, ConditionReasons.TuningJobFailed),
            _ => (false, ConditionReasons.TuningJobPending),
        };
        conditions.Set(ConditionTypes.JobStarted, started, startedReason, started && phase != Phase.Succeeded ? "The tuning job has started" : message);
        var succeeded = phase == Phase.Succeeded;
        var summaryReason = succeeded ? ConditionReasons.WorkspaceSucceeded : phase == Phase.Failed ? ConditionReasons.WorkspaceFailed : ConditionReasons.WorkspacePending;
        conditions.Set(ConditionTypes.WorkspaceSucceeded, succeeded, summaryReason, message);

        var (ready, readyMessage, settled) = await ServeAsync(workspace, preset, phase, conditions, cancellationToken);
        conditions.Set(ConditionTypes.WorkspaceReady, ready, ready ? ConditionReasons.WorkspaceSucceeded : succeeded ? ConditionReasons.WorkspacePending : summaryReason,
            readyMessage ?? message);

        var state = phase switch
        {
            Phase.Succeeded => WorkspaceStates.Succeeded,
            Phase.Failed => WorkspaceStates.Failed,
            Phase.Running => WorkspaceStates.Running,
            _ => WorkspaceStates.Pending,
        };
        return (state, settled);
    }

    /// <summary>
    /// Serves the tuning output once the job has succeeded; stops serving while a job of a newer revision trains (its
    /// pod needs the node's GPUs) or when the workspace opts out. Returns WorkspaceReady, its message when not the job's, and whether there is nothing to wait for.
    /// </summary>
    private async Task<(bool Ready, string? Message, bool Settled)> ServeAsync(Workspace workspace, ModelPreset? preset, Phase phase, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        var output = InferenceWorkload.TuningOutput(workspace);
        if (phase == Phase.Succeeded && output is not null && preset is not null)
        {
            var serving = await inference.DeployAsync(workspace, output, preset, 1, conditions, cancellationToken);
            return serving
                ? (true, $"The tuning job has succeeded; {preset.Name} with the adapter {workspace.Metadata.Name} is served at Service {workspace.Metadata.Name}", true)
                : (false, "The tuning job has succeeded; waiting for its adapter to be served", false);
        }

        if (output is null || phase is Phase.Replacing or Phase.Created or Phase.Running or Phase.Failed)
        {
            await inference.StopAsync(workspace, output is null ? "the workspace does not serve its tuning output" : "the workspace is tuning again", cancellationToken);
        }

        if (output is null)
        {
            conditions.Items.RemoveAll(c => c.Type == ConditionTypes.InferenceReady);
            return (phase == Phase.Succeeded, null, true);
        }

        if (conditions.Items.Any(c => c.Type == ConditionTypes.InferenceReady))
        {
            conditions.Set(ConditionTypes.InferenceReady, false, ConditionReasons.InferencePending, "Not serving: the tuning job of this revision has not succeeded");
        }

        return (false, null, true);
    }

    private async Task<(Phase, string)> EnsureAsync(Workspace workspace, ModelPreset preset, WorkspaceStatus status, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        var revision = RevisionSync.Of(workspace.Metadata);
        var job = cache.Get<V1Job>(ns, workspace.Metadata.Name);
        if (job is not null && RevisionSync.Annotation(job.Metadata, Annotations.Revision) != revision)
        {
            if (job.Metadata.DeletionTimestamp is null)
            {
                await client.DeleteAsync<V1Job>(ns, job.Metadata.Name, "Foreground", cancellationToken);
                LogTuningJobReplaced(logger, ns, job.Metadata.Name, revision);
                events.Record(workspace, EventRecorder.Normal, "TuningJobReplaced", $"Job {job.Metadata.Name} deleted: the workspace moved to revision {revision}");
            }

            return (Phase.Replacing, "Replacing the tuning job of the previous revision");
        }

        if (job is null)
        {
            var config = await TrainingConfigAsync(workspace, cancellationToken);
            if (config is null)
            {
                return (Phase.Waiting, $"ConfigMap {ns}/{workspace.Tuning!.Config} with {TrainingConfigValidator.FileName} does not exist");
            }

            var sku = nodes.Gpus(workspace);
            var desired = TuningWorkload.Job(workspace, preset, sku, revision, TrainingConfigValidator.OutputDirectory(config), _options, _options.AutoProvisioning);
            await client.CreateAsync(desired, cancellationToken);
            LogTuningJobCreated(logger, ns, desired.Metadata.Name);
            events.Record(workspace, EventRecorder.Normal, "TuningJobCreated", $"Job {desired.Metadata.Name} created to tune {preset.Name} with {workspace.Tuning!.Method}");
            return (Phase.Created, "The tuning job has been created");
        }

        if (Condition(job, "Complete"))
        {
            if (!Conditions.IsTrue(status.Conditions, ConditionTypes.WorkspaceSucceeded))
            {
                events.Record(workspace, EventRecorder.Normal, "TuningJobSucceeded", $"Job {job.Metadata.Name} succeeded");
            }

            return (Phase.Succeeded, "The tuning job has succeeded");
        }

        if (Condition(job, "Failed"))
        {
            // The cause comes from the failed pod (the tuner's termination message). The pod cache can trail the Job's:
            // then the Job's own message stands until the pod arrives, whose event brings another pass; once the pods
            // are gone (TTL, a replaced Job) the status keeps what it says.
            var recorded = status.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.WorkspaceSucceeded && c.Reason == ConditionReasons.WorkspaceFailed);
            var (message, fromPod) = FailureMessage(job);
            if (recorded is null)
            {
                events.Record(workspace, EventRecorder.Warning, "TuningJobFailed", message);
                return (Phase.Failed, message);
            }

            return (Phase.Failed, fromPod ? message : recorded.Message);
        }

        return job.Status?.Active > 0 ? (Phase.Running, "The tuning job is running") : (Phase.Created, "The tuning job's pod is pending");
    }

    private static bool Condition(V1Job job, string type) =>
        job.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;

    private (string Message, bool FromPod) FailureMessage(V1Job job)
    {
        // The Job's pods carry the workspace label, so the pod cache has them.
        var owned = cache.ByIndex<V1Pod>(WorkspaceControllerExtensions.WorkspacePodsIndex, new ObjectReference(job.Metadata.NamespaceProperty, job.Metadata.Name).ToString())
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
    private async Task<string?> TrainingConfigAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var ns = workspace.Metadata.NamespaceProperty;
        var tuning = workspace.Tuning!;
        var name = TuningWorkload.ConfigMapName(tuning);
        var existing = await client.GetAsync<V1ConfigMap>(ns, name, cancellationToken);
        if (existing is not null || !string.IsNullOrEmpty(tuning.Config))
        {
            return existing?.Data?.TryGetValue(TrainingConfigValidator.FileName, out var yaml) == true ? yaml : null;
        }

        var template = await client.GetAsync<V1ConfigMap>(_options.ReleaseNamespace, name, cancellationToken);
        var copy = TuningWorkload.DefaultTemplate(tuning.Method, ns);
        if (template?.Data?.TryGetValue(TrainingConfigValidator.FileName, out var released) == true)
        {
            copy.Data[TrainingConfigValidator.FileName] = released;
        }

        await client.CreateAsync(copy, cancellationToken);
        return copy.Data[TrainingConfigValidator.FileName];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job {Namespace}/{Job} created")]
    private static partial void LogTuningJobCreated(ILogger logger, string @namespace, string job);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job {Namespace}/{Job} deleted: the workspace moved to revision {Revision}")]
    private static partial void LogTuningJobReplaced(ILogger logger, string @namespace, string job, string revision);
}
