using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// Binds each claim to a node that already exists (a kind GPU node, a pre-made node pool): Ready, not cordoned, with
/// GPUs, no other claim, and matching the claim's instance type (and OS, where the node says). Binding adds the claim's
/// labels and taints the node lacks and records exactly what it added in annotations, so releasing the claim removes
/// that and nothing else. The bind is a patch guarded by the node's resourceVersion, so two claims never take one node.
/// Until a node fits, the claim waits on Launched=False (reason NoMatchingNode) and is retried.
/// </summary>
public sealed class ExistingNodeProvider(ObjectClient client, ObjectCache cache) : IGpuNodeProvider
{
    public const string ClaimAnnotation = "kaito.sh/nodeclaim";
    public const string AddedLabelsAnnotation = "kaito.sh/added-labels";
    public const string AddedTaintsAnnotation = "kaito.sh/added-taints";

    public TimeSpan PollInterval => TimeSpan.FromSeconds(2);

    public async Task<LaunchedNode> LaunchAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var name = claim.Metadata.Name;
        if (BoundTo(name) is { } bound)
        {
            return Launched(bound);
        }

        var instanceType = claim.Spec?.Requirements?.FirstOrDefault(r => r.Key == Labels.InstanceType && r.Operator == "In")?.Values
            ?? throw new LaunchFailedException("InstanceTypeMissing", $"NodeClaim {name} has no {Labels.InstanceType} requirement with operator In");
        var candidates = cache.List<V1Node>().Where(n => Fits(n, claim, instanceType)).OrderBy(n => n.Metadata.Name, StringComparer.Ordinal).ToList();
        if (candidates.Count == 0)
        {
            return LaunchedNode.Waiting("NoMatchingNode",
                $"no Ready, schedulable node with GPUs, instance type {string.Join(" or ", instanceType)} and no NodeClaim exists yet");
        }

        var node = candidates[0];
        var addedLabels = (claim.Metadata.Labels ?? new Dictionary<string, string>())
            .Where(l => node.Metadata.Labels?.ContainsKey(l.Key) != true).ToDictionary(l => l.Key, l => l.Value);
        var addedTaints = (claim.Spec?.Taints ?? [])
            .Where(t => node.Spec?.Taints?.Any(x => x.Key == t.Key && x.Effect == t.Effect) != true).ToList();
        var patch = new
        {
            metadata = new
            {
                resourceVersion = node.Metadata.ResourceVersion,
                labels = addedLabels,
                annotations = new Dictionary<string, string>
                {
                    [ClaimAnnotation] = name,
                    [AddedLabelsAnnotation] = JsonSerializer.Serialize(addedLabels.Keys.Order(StringComparer.Ordinal)),
                    [AddedTaintsAnnotation] = JsonSerializer.Serialize(addedTaints.Select(t => $"{t.Key}:{t.Effect}")),
                },
            },
            spec = new { taints = (node.Spec?.Taints ?? []).Concat(addedTaints).ToList() },
        };
        // Guarded by the node's resourceVersion: two claims never bind one node.
        return await client.PatchAsync(node, patch, conditional: true, cancellationToken) switch
        {
            WriteResult.Written => Launched(node),
            // another claim (or anyone) changed the node first: look again on the next pass
            _ => LaunchedNode.Waiting("NodeBindingConflict", $"node {node.Metadata.Name} changed while binding; retrying"),
        };
    }

    public async Task<bool> DeleteAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (BoundTo(claim.Metadata.Name) is not { } node)
        {
            return true;
        }

        var annotations = node.Metadata.Annotations ?? new Dictionary<string, string>();
        var labels = Read(annotations, AddedLabelsAnnotation);
        var taints = Read(annotations, AddedTaintsAnnotation);
        var patch = new
        {
            metadata = new
            {
                resourceVersion = node.Metadata.ResourceVersion,
                labels = labels.ToDictionary(l => l, string? (_) => null),
                annotations = new Dictionary<string, string?> { [ClaimAnnotation] = null, [AddedLabelsAnnotation] = null, [AddedTaintsAnnotation] = null },
            },
            spec = new { taints = (node.Spec?.Taints ?? []).Where(t => !taints.Contains($"{t.Key}:{t.Effect}")).ToList() },
        };
        return await client.PatchAsync(node, patch, conditional: true, cancellationToken) != WriteResult.Conflict;
    }

    private V1Node? BoundTo(string claim) =>
        cache.List<V1Node>().FirstOrDefault(n => n.Metadata.Annotations?.TryGetValue(ClaimAnnotation, out var c) == true && c == claim);

    private static LaunchedNode Launched(V1Node node) =>
        new(node.Metadata.Name, string.IsNullOrEmpty(node.Spec?.ProviderID) ? $"kaito-existing:///{node.Metadata.Name}" : node.Spec.ProviderID, node);

    private static bool Fits(V1Node node, NodeClaim claim, IList<string> instanceTypes)
    {
        var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
        var os = claim.Spec?.Requirements?.FirstOrDefault(r => r.Key == Labels.OperatingSystem && r.Operator == "In")?.Values;
        return node.Metadata.DeletionTimestamp is null
            && node.Spec?.Unschedulable != true
            && node.Metadata.Annotations?.ContainsKey(ClaimAnnotation) != true
            && node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true
            && node.Status.Capacity?.TryGetValue(Resources.NvidiaGpu, out var gpus) == true && gpus.ToDecimal() > 0
            && labels.TryGetValue(Labels.InstanceType, out var type) && instanceTypes.Contains(type)
            && (os is null || !labels.TryGetValue(Labels.OperatingSystem, out var nodeOs) || os.Contains(nodeOs));
    }

    private static List<string> Read(IDictionary<string, string> annotations, string key) =>
        annotations.TryGetValue(key, out var json) ? JsonSerializer.Deserialize<List<string>>(json) ?? [] : [];
}
