using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Core;
using k8s.Models;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Kaito.Provisioner.NodeClaims;

namespace Kaito.Provisioner.Azure;

/// <summary>
/// One AKS agent pool per NodeClaim (Azure/gpu-provisioner's pkg/providers/instance, the gpu-provisioner contract): pool name = claim name, vmSize from
/// the instance-type requirement, count 1, OS disk from the storage request, the claim's labels (plus
/// <c>karpenter.sh/nodepool</c>, <c>kaito.sh/machine-type</c> and a creation timestamp) and taints, OS SKU from
/// <c>kaito.sh/node-image-family</c>. Creation and deletion are ARM long-running operations, polled through
/// <c>Azure-AsyncOperation</c> (or <c>Location</c>); every call is idempotent on the pool's state, so a restart neither
/// duplicates nor leaks a pool. The claim is launched once the pool succeeded and its Node registered with a
/// providerID.
/// </summary>
public sealed partial class AgentPoolProvider(ArmClient arm, ObjectClient client, ObjectCache cache, ProvisionerTelemetry telemetry, ILogger<AgentPoolProvider> logger)
    : IGpuNodeProvider
{
    /// <summary>AKS's rule for user pool names.</summary>
    public static readonly Regex PoolName = PoolNamePattern();

    // Operations started by this process; after a restart the pool's provisioningState tells the same story.
    private readonly ConcurrentDictionary<string, Uri> _operations = new(StringComparer.Ordinal);

    public TimeSpan PollInterval => arm.Options.PollInterval;

    public async Task<LaunchedNode> LaunchAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var name = claim.Metadata.Name;
        if (!PoolName.IsMatch(name))
        {
            throw new LaunchFailedException("InvalidNodeClaimName",
                $"NodeClaim name {name} cannot name an AKS agent pool: it must match ^[a-z][a-z0-9]{{0,11}}$ (lowercase letters and digits, at most 12)");
        }

        var vmSize = claim.Spec?.Requirements?.FirstOrDefault(r => r.Key == Labels.InstanceType && r.Operator == "In")?.Values?.FirstOrDefault()
            ?? throw new LaunchFailedException("InstanceTypeMissing", $"NodeClaim {name} has no {Labels.InstanceType} requirement with operator In");

        if (_operations.TryGetValue(name, out var operation))
        {
            var status = await CallAsync("operation.get", name, RequestMethod.Get, operation, null, cancellationToken);
            var state = (string?)status.Body?["status"];
            if (state is "Failed" or "Canceled")
            {
                _operations.TryRemove(name, out _);
                var (code, message) = ((string?)status.Body?["error"]?["code"] ?? "AgentPoolCreationFailed", (string?)status.Body?["error"]?["message"] ?? $"creating agent pool {name} {state}");
                throw new LaunchFailedException(code, message);
            }

            if (state != "Succeeded")
            {
                return LaunchedNode.Pending;
            }

            _operations.TryRemove(name, out _);
        }

        var pool = await CallAsync("agentpool.get", name, RequestMethod.Get, arm.AgentPool(name), null, cancellationToken);
        if (pool.Status == 404)
        {
            await CreateAsync(claim, name, vmSize, cancellationToken);
            return LaunchedNode.Pending;
        }

        EnsureSuccess(pool, name);
        switch ((string?)pool.Body?["properties"]?["provisioningState"])
        {
            case "Succeeded":
                break;
            case "Failed":
                throw new LaunchFailedException("AgentPoolProvisioningFailed", $"agent pool {name} is in provisioningState Failed; delete the NodeClaim to retry");
            default:
                return LaunchedNode.Pending;
        }

        var node = cache.List<V1Node>().FirstOrDefault(n => n.Metadata.Labels?.TryGetValue(Labels.AgentPool, out var p) == true && p == name
                                                 && !string.IsNullOrEmpty(n.Spec?.ProviderID));
        return node is null ? LaunchedNode.Pending : new LaunchedNode(node.Metadata.Name, node.Spec.ProviderID, node);
    }

    private async Task CreateAsync(NodeClaim claim, string name, string vmSize, CancellationToken cancellationToken)
    {
        var reply = await CallAsync("agentpool.create", name, RequestMethod.Put, arm.AgentPool(name), AgentPoolBody.For(claim, vmSize, DateTime.UtcNow), cancellationToken);
        if (reply.Status == 409 && reply.Error.Message.Contains("in progress create node pool operation", StringComparison.OrdinalIgnoreCase))
        {
            return; // another create of this pool is running: the next poll sees it
        }

        EnsureSuccess(reply, name);
        if ((reply.AsyncOperation ?? reply.Location) is { } url)
        {
            _operations[name] = new Uri(url);
        }

        LogCreating(logger, name, vmSize);
    }

    public async Task<bool> DeleteAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var name = claim.Metadata.Name;
        if (!PoolName.IsMatch(name))
        {
            return true; // never created
        }

        _operations.TryRemove(name, out _);
        var pool = await CallAsync("agentpool.get", name, RequestMethod.Get, arm.AgentPool(name), null, cancellationToken);
        if (pool.Status != 404)
        {
            EnsureSuccess(pool, name);
            if ((string?)pool.Body?["properties"]?["provisioningState"] != "Deleting")
            {
                var reply = await CallAsync("agentpool.delete", name, RequestMethod.Delete, arm.AgentPool(name), null, cancellationToken);
                if (reply.Status is not (200 or 202 or 204 or 404))
                {
                    EnsureSuccess(reply, name);
                }

                LogDeleting(logger, name);
            }

            return false;
        }

        // The pool is gone; AKS removes its nodes, but the Node object may outlive the VM for a while.
        foreach (var node in cache.List<V1Node>().Where(n => n.Metadata.Labels?.TryGetValue(Labels.AgentPool, out var p) == true && p == name))
        {
            await client.DeleteAsync<V1Node>(null, node.Metadata.Name, null, cancellationToken);
        }

        return true;
    }

    /// <summary>KAITO-created pools (label <c>karpenter.sh/nodepool=kaito</c>) older than the minimum age whose claim is gone.</summary>
    public async Task<IReadOnlyList<string>> CollectOrphansAsync(IReadOnlySet<string> claims, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var list = await CallAsync("agentpool.list", "*", RequestMethod.Get, arm.AgentPool(null), null, cancellationToken);
        EnsureSuccess(list, "*");
        var deleted = new List<string>();
        foreach (var pool in list.Body?["value"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var name = (string?)pool["name"] ?? "";
            var labels = pool["properties"]?["nodeLabels"];
            // Only pools made for a workspace or RAG engine (gpu-provisioner's instance garbage collection): a pool someone
            // labelled karpenter.sh/nodepool=kaito by hand is not ours to delete.
            if ((string?)labels?[Labels.KarpenterNodePool] != Labels.KaitoNodePool || (labels?[Labels.Workspace] is null && labels?[Labels.RagEngine] is null)
                || claims.Contains(name) || (string?)pool["properties"]?["provisioningState"] == "Deleting")
            {
                continue;
            }

            var created = DateTime.TryParseExact((string?)labels?[Labels.CreationTimestamp], "yyyy-MM-dd'T'HH-mm-ss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at) ? at : DateTime.MinValue;
            if (now - created < arm.Options.GarbageCollectionMinimumAge)
            {
                continue;
            }

            var reply = await CallAsync("agentpool.delete", name, RequestMethod.Delete, arm.AgentPool(name), null, cancellationToken);
            if (reply.Status is 200 or 202 or 204 or 404)
            {
                deleted.Add(name);
                LogOrphanDeleted(logger, name);
                // A pool that outlived its claim may have registered its node: that Node object would stay NotReady for ever.
                foreach (var node in cache.List<V1Node>().Where(n => n.Metadata.Labels?.TryGetValue(Labels.AgentPool, out var p) == true && p == name))
                {
                    await client.DeleteAsync<V1Node>(null, node.Metadata.Name, null, cancellationToken);
                    LogOrphanNodeDeleted(logger, node.Metadata.Name, name);
                }
            }
        }

        return deleted;
    }

    private async Task<ArmResponse> CallAsync(string operation, string pool, RequestMethod method, Uri uri, JsonObject? body, CancellationToken cancellationToken)
    {
        using var activity = telemetry.ActivitySource.StartActivity($"arm.{operation}", ActivityKind.Client);
        activity?.SetTag("azure.operation", operation);
        activity?.SetTag("aks.agentpool", pool);
        activity?.SetTag("http.request.method", method.Method);
        try
        {
            var reply = await arm.SendAsync(method, uri, body, cancellationToken);
            activity?.SetTag("http.response.status_code", reply.Status);
            if (reply.Status >= 400 && reply.Status != 404)
            {
                activity?.SetStatus(ActivityStatusCode.Error, reply.Error.Code);
                telemetry.CloudFailure(operation, reply.Error.Code);
            }

            return reply;
        }
        catch (Exception ex) when (ex is global::Azure.RequestFailedException or global::Azure.Identity.AuthenticationFailedException or HttpRequestException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            telemetry.CloudFailure(operation, ex.GetType().Name);
            throw;
        }
    }

    /// <summary>A refused request is the claim's failure, with ARM's code and message; a 5xx after retries is transient.</summary>
    private static void EnsureSuccess(ArmResponse reply, string pool)
    {
        if (reply.Status < 400)
        {
            return;
        }

        var (code, message) = reply.Error;
        if (reply.Status >= 500 || reply.Status == 429)
        {
            throw new HttpRequestException($"ARM answered {reply.Status} ({code}) for agent pool {pool}: {message}");
        }

        throw new LaunchFailedException(code, message);
    }

    [GeneratedRegex("^[a-z][a-z0-9]{0,11}$", RegexOptions.CultureInvariant)]
    private static partial Regex PoolNamePattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "Creating agent pool {Pool} ({VmSize})")]
    private static partial void LogCreating(ILogger logger, string pool, string vmSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleting agent pool {Pool}")]
    private static partial void LogDeleting(ILogger logger, string pool);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted orphan agent pool {Pool}: no NodeClaim owns it")]
    private static partial void LogOrphanDeleted(ILogger logger, string pool);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted node {Node} of orphan agent pool {Pool}")]
    private static partial void LogOrphanNodeDeleted(ILogger logger, string node, string pool);
}
