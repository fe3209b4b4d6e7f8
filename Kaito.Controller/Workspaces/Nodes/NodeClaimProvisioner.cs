using k8s.Autorest;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Workspaces.Nodes;

/// <summary>
/// Auto-provisioned nodes (KAITO's azure-gpu-provisioner mode): one NodeClaim per missing node, with expectations so a
/// slow cache never creates two; a node counts once its claim is Ready and the node is Ready with GPUs of the instance
/// type, and is labelled <c>accelerator=nvidia</c>. On deletion the claims go before the workspace's finalizer.
/// </summary>
public sealed partial class NodeClaimProvisioner(
    ObjectClient client,
    ObjectCache cache,
    Expectations expectations,
    EventRecorder events,
    IOptions<ControllerOptions> options,
    TimeProvider clock,
    ILogger<NodeClaimProvisioner> logger) : INodeProvisioner
{
    public GpuSku? Gpus(Workspace workspace) => GpuSkuCatalog.Default.Find(workspace?.Resource?.InstanceType, options.Value.Cloud);

    public async Task<bool> ProvisionAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int target, WorkspaceConditions conditions,
        CancellationToken cancellationToken)
    {
        if (!expectations.Satisfied(key))
        {
            return false;
        }

        var claims = Claims(key).Where(c => c.Metadata.DeletionTimestamp is null).ToList();
        await CreateMissingAsync(key, workspace, preset, target - claims.Count, cancellationToken);

        var ready = claims.Where(NodeClaims.IsReady).ToList();
        var failed = claims.Select(c => c.Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.Launched && x.Status == "False")).FirstOrDefault(c => c is not null);
        conditions.Set(ConditionTypes.NodeClaimReady, ready.Count >= target,
            (ConditionReasons.NodeClaimsReady, "Enough NodeClaims are ready"),
            (failed?.Reason ?? ConditionReasons.NodeClaimNotReady, failed?.Message ?? $"{ready.Count} of {target} NodeClaims are ready"));

        var nodes = ready.Select(c => c.Status?.NodeName is { } name ? cache.Get<V1Node>(null, name) : null).OfType<V1Node>()
            .Where(n => NodeChecks.IsReady(n) && NodeChecks.HasGpus(n, preset)).ToList();
        await LabelAcceleratorsAsync(nodes, cancellationToken);
        var readyNodes = nodes.Count(n => (n.Metadata.Labels?.TryGetValue(Labels.InstanceType, out var type) == true ? type : null) == workspace.Resource!.InstanceType);
        var nodesReady = readyNodes >= target;
        conditions.Set(ConditionTypes.NodesReady, nodesReady,
            nodesReady ? ConditionReasons.NodesReady : ready.Count >= target ? ConditionReasons.NodePluginsNotReady : ConditionReasons.NodeNotReady,
            $"{readyNodes} of {target} nodes are ready" + (NodeChecks.Pressure(nodes) is { } pressure ? $"; warning: {pressure}" : ""));
        return nodesReady;
    }

    public async Task<bool> ReleaseAsync(ObjectReference key, Workspace workspace, CancellationToken cancellationToken)
    {
        var claims = Claims(key);
        foreach (var claim in claims.Where(c => c.Metadata.DeletionTimestamp is null))
        {
            if (await client.DeleteAsync<NodeClaim>(null, claim.Metadata.Name, null, cancellationToken))
            {
                LogNodeClaimDeleted(logger, key, claim.Metadata.Name);
                events.Record(workspace, EventRecorder.Normal, "NodeClaimDeleted", $"NodeClaim {claim.Metadata.Name} deleted");
            }
        }

        if (claims.Count > 0)
        {
            return false;
        }

        expectations.Forget(key);
        return true;
    }

    public void Forget(ObjectReference key) => expectations.Forget(key);

    public IReadOnlyList<string> WorkerNodes(ObjectReference key, Workspace workspace) =>
        [.. Claims(key).Select(c => c.Status?.NodeName).OfType<string>().Where(n => cache.Get<V1Node>(null, n) is not null).Order(StringComparer.Ordinal)];

    private IReadOnlyList<NodeClaim> Claims(ObjectReference key) => cache.ByIndex<NodeClaim>(NodeClaims.WorkspaceIndex, key.ToString());

    private async Task CreateMissingAsync(ObjectReference key, Workspace workspace, ModelPreset? preset, int missing, CancellationToken cancellationToken)
    {
        if (missing <= 0)
        {
            return;
        }

        expectations.ExpectCreations(key, missing);
        for (var i = 0; i < missing; i++)
        {
            var claim = NodeClaims.For(workspace, preset, options.Value.Cloud, $"{clock.GetUtcNow().UtcTicks}-{i}");
            if (System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } reconcile)
            {
                // The provisioner continues this trace: the node's provisioning shows under the workspace's reconcile.
                claim.Metadata.Annotations[Annotations.TraceParent] = reconcile.Id!;
            }

            try
            {
                await client.CreateAsync(claim, cancellationToken);
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

    /// <summary>KAITO labels the GPU nodes it provisioned <c>accelerator=nvidia</c> (once; a labelled node is left alone).</summary>
    private async Task LabelAcceleratorsAsync(IEnumerable<V1Node> nodes, CancellationToken cancellationToken)
    {
        foreach (var node in nodes.Where(n => n.Metadata.Labels?.ContainsKey(Labels.Accelerator) != true))
        {
            await client.PatchAsync(node, new { metadata = new { labels = new Dictionary<string, string> { [Labels.Accelerator] = Labels.AcceleratorNvidia } } },
                conditional: false, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaim {NodeClaim} created")]
    private static partial void LogNodeClaimCreated(ILogger logger, ObjectReference workspace, string nodeClaim);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {Workspace}: NodeClaim {NodeClaim} deleted")]
    private static partial void LogNodeClaimDeleted(ILogger logger, ObjectReference workspace, string nodeClaim);
}
