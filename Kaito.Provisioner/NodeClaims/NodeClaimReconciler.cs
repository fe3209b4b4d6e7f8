using System.Diagnostics;
using k8s;
using k8s.Models;
using Kaito.Api;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// The NodeClaim contract KAITO relies on (Azure/gpu-provisioner's pkg/controllers, Karpenter's lifecycle): claims of <c>kaito.sh/KaitoNodeClass</c> only; the
/// <c>karpenter.sh/termination</c> finalizer held until the capacity and Node are gone; Launched, Registered,
/// Initialized and Ready conditions, Ready only once the node is registered and Ready; failures on Launched=False with
/// the cloud's reason and message.
/// </summary>
public sealed partial class NodeClaimReconciler(
    ObjectClient client,
    ObjectCache cache,
    IGpuNodeProvider provider,
    ProvisionerTelemetry telemetry,
    Microsoft.Extensions.Options.IOptions<ProvisionerOptions> options,
    TimeProvider clock,
    ILogger<NodeClaimReconciler> logger) : IReconciler
{
    public async Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken)
    {
        var claim = cache.Get<NodeClaim>(key);
        if (claim is null || !IsOurs(claim))
        {
            return ReconcileResult.Done;
        }

        // The controller stamps the reconcile that created the claim; provisioning joins that trace (linked to this
        // reconcile's own span), so a workspace's trace shows its nodes being made, cloud calls included.
        using var provisioning = claim.Metadata.Annotations?.TryGetValue(Annotations.TraceParent, out var parent) == true
                                 && ActivityContext.TryParse(parent, null, out var context)
            ? telemetry.ActivitySource.StartActivity("nodeclaim provision", ActivityKind.Internal, context,
                links: Activity.Current is { } runner ? [new ActivityLink(runner.Context)] : null)
            : null;
        provisioning?.SetTag("karpenter.nodeclaim.name", claim.Metadata.Name);

        if (claim.Metadata.DeletionTimestamp is not null)
        {
            if (!await provider.DeleteAsync(claim, cancellationToken))
            {
                return ReconcileResult.After(provider.PollInterval);
            }

            if (await client.RemoveFinalizerAsync(claim, Finalizers.KarpenterTermination, cancellationToken))
            {
                LogTerminated(logger, key.Name);
            }

            return ReconcileResult.Done;
        }

        if (await client.AddFinalizerAsync(claim, Finalizers.KarpenterTermination, cancellationToken))
        {
            return ReconcileResult.Done;
        }

        var status = new NodeClaimStatus { Conditions = Conditions.Copy(claim.Status?.Conditions) };
        var conditions = status.Conditions;
        var generation = claim.Metadata.Generation ?? 1;
        var now = clock.GetUtcNow().UtcDateTime;
        LaunchedNode launched;
        try
        {
            launched = await provider.LaunchAsync(claim, cancellationToken);
        }
        catch (LaunchFailedException failure)
        {
            Conditions.Set(conditions, ConditionTypes.Launched, false, failure.Reason, failure.Message, generation, now);
            Conditions.Set(conditions, ConditionTypes.Ready, false, failure.Reason, failure.Message, generation, now);
            if (!Conditions.IsTrue(claim.Status?.Conditions, ConditionTypes.Launched) && claim.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Launched && c.Reason == failure.Reason) != true)
            {
                telemetry.LaunchFailed(failure.Reason);
            }

            await WriteStatusAsync(claim, status, cancellationToken);
            LogLaunchFailed(logger, key.Name, failure.Message);
            return ReconcileResult.Done;
        }

        if (launched.WaitingReason is { } waiting)
        {
            Conditions.Set(conditions, ConditionTypes.Launched, false, waiting, launched.WaitingMessage ?? "", generation, now);
            Conditions.Set(conditions, ConditionTypes.Ready, false, waiting, launched.WaitingMessage ?? "", generation, now);
            await WriteStatusAsync(claim, status, cancellationToken);
            return ReconcileResult.After(provider.PollInterval);
        }

        Conditions.Set(conditions, ConditionTypes.Launched, true, ConditionTypes.Launched, "", generation, now);
        if (InstanceType(claim) is { } instanceType && claim.Metadata.Labels?.ContainsKey(Labels.InstanceType) != true)
        {
            // As Karpenter does once capacity is launched: the claim carries what it got (kubectl's TYPE column).
            await client.PatchAsync(claim, new { metadata = new { labels = new Dictionary<string, string> { [Labels.InstanceType] = instanceType, ["karpenter.sh/capacity-type"] = "on-demand" } } },
                conditional: false, cancellationToken);
        }

        status.ProviderId = launched.ProviderId ?? claim.Status?.ProviderId;
        var node = (launched.NodeName is null ? null : cache.Get<V1Node>(null, launched.NodeName)) ?? launched.Node;
        var registered = node is not null;
        var nodeReady = node?.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
        LogObserved(logger, key.Name, launched.NodeName ?? "(being created)", registered, nodeReady);
        Conditions.Set(conditions, ConditionTypes.Registered, registered, registered ? ConditionTypes.Registered : "NodeNotFound",
            registered ? "" : "Node not registered with cluster", generation, now);
        Conditions.Set(conditions, ConditionTypes.Initialized, nodeReady, nodeReady ? ConditionTypes.Initialized : "NodeNotReady",
            nodeReady ? "" : "Node status is NotReady", generation, now);
        Conditions.Set(conditions, ConditionTypes.Ready, nodeReady, nodeReady ? ConditionTypes.Ready : "NotInitialized",
            nodeReady ? "" : "Node is not initialized yet", generation, now);
        if (node is not null)
        {
            status.NodeName = node.Metadata.Name;
            status.Capacity = node.Status?.Capacity;
            status.Allocatable = node.Status?.Allocatable ?? node.Status?.Capacity;
        }

        if (nodeReady && !Conditions.IsTrue(claim.Status?.Conditions, ConditionTypes.Ready) && claim.Metadata.CreationTimestamp is { } created)
        {
            telemetry.Provisioned(now - created, options.Value.Provider);
        }

        await WriteStatusAsync(claim, status, cancellationToken);
        return nodeReady ? ReconcileResult.Done : ReconcileResult.After(provider.PollInterval);
    }

    private static string? InstanceType(NodeClaim claim) =>
        claim.Spec?.Requirements?.FirstOrDefault(r => r.Key == Labels.InstanceType && r.Operator == "In")?.Values?.FirstOrDefault();

    /// <summary>Only claims for Kaito's node class; others belong to another provisioner.</summary>
    public static bool IsOurs(NodeClaim claim) =>
        claim.Spec?.NodeClassRef is { Group: KaitoGroup.Name, Kind: KaitoNodeClass.KindName };

    private async Task WriteStatusAsync(NodeClaim claim, NodeClaimStatus status, CancellationToken cancellationToken)
    {
        status.ImageId = claim.Status?.ImageId;
        status.LastPodEventTime = claim.Status?.LastPodEventTime;
        if (Json(claim.Status) != Json(status))
        {
            // Conditional on the version it was computed from; a conflict means a newer claim, whose event brings another pass.
            await client.PatchStatusAsync(claim, status, cancellationToken);
        }
    }

    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);

    [LoggerMessage(Level = LogLevel.Debug, Message = "NodeClaim {NodeClaim}: node {Node} registered {Registered}, ready {Ready}")]
    private static partial void LogObserved(ILogger logger, string nodeClaim, string node, bool registered, bool ready);

    [LoggerMessage(Level = LogLevel.Warning, Message = "NodeClaim {NodeClaim} could not be launched: {Reason}")]
    private static partial void LogLaunchFailed(ILogger logger, string nodeClaim, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "NodeClaim {NodeClaim}: capacity released, finalizer removed")]
    private static partial void LogTerminated(ILogger logger, string nodeClaim);
}
