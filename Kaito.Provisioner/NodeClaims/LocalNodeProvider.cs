using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// Simulated GPU nodes: after the boot delay, a Node named like an AKS node (<c>aks-&lt;claim&gt;-vmss000000</c>) with the
/// claim's labels and taints and the SKU's GPUs, CPU and memory as capacity. LocalCluster's simulated kubelet then
/// reports it Ready and its scheduler places GPU pods on it. Only ever against LocalCluster (<see cref="LocalClusterGuard"/>).
/// </summary>
public sealed class LocalNodeProvider(ObjectClient client, ObjectCache cache, IOptions<ProvisionerOptions> options, TimeProvider clock, LocalClusterGuard guard)
    : IGpuNodeProvider
{
    public TimeSpan PollInterval => TimeSpan.FromSeconds(1);

    public async Task<LaunchedNode> LaunchAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var name = NodeName(claim);
        var providerId = $"kaito-local:///{claim.Metadata.Name}";
        if (cache.Get<V1Node>(null, name) is { } existing)
        {
            return new LaunchedNode(name, providerId, existing);
        }

        var instanceType = claim.Spec?.Requirements?.FirstOrDefault(r => r.Key == Labels.InstanceType && r.Operator == "In")?.Values?.FirstOrDefault()
            ?? throw new LaunchFailedException("InstanceTypeMissing", $"NodeClaim {claim.Metadata.Name} has no {Labels.InstanceType} requirement");
        var sku = GpuSkuCatalog.Default.Find(instanceType, options.Value.Cloud)
            ?? throw new LaunchFailedException("InstanceTypeUnavailable",
                $"all requested instance types were unavailable during launch: {instanceType} is not a known {options.Value.Cloud} GPU SKU");

        if (await guard.ProblemAsync(cancellationToken) is { } problem)
        {
            throw new LaunchFailedException("ProviderMismatch", problem);
        }

        var created = claim.Metadata.CreationTimestamp ?? clock.GetUtcNow().UtcDateTime;
        if (clock.GetUtcNow().UtcDateTime - created < options.Value.BootDelay)
        {
            return new LaunchedNode(name, providerId, null);
        }

        var labels = new Dictionary<string, string>(claim.Metadata.Labels ?? new Dictionary<string, string>())
        {
            [Labels.InstanceType] = instanceType,
            [Labels.MachineType] = "gpu",
            [Labels.AgentPool] = claim.Metadata.Name,
            [Labels.AzureAgentPool] = claim.Metadata.Name,
            [Labels.OperatingSystem] = "linux",
            [Labels.CreationTimestamp] = created.ToString("yyyy-MM-dd'T'HH-mm-ss'Z'", CultureInfo.InvariantCulture),
        };
        var capacity = new Dictionary<string, ResourceQuantity>
        {
            [Resources.NvidiaGpu] = new(sku.Gpus.ToString(CultureInfo.InvariantCulture)),
            [Resources.Cpu] = new(sku.Cpu.ToString(CultureInfo.InvariantCulture)),
            [Resources.Memory] = new($"{sku.MemoryGiB}Gi"),
            [Resources.Pods] = new("110"),
        };
        if (claim.Spec?.Resources?.Requests?.TryGetValue(Resources.Storage, out var disk) == true)
        {
            capacity["ephemeral-storage"] = disk;
        }

        var node = new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels },
            Spec = new V1NodeSpec { ProviderID = providerId, Taints = claim.Spec?.Taints?.ToList() },
            Status = new V1NodeStatus { Capacity = capacity, Allocatable = capacity },
        };
        if (!await client.CreateAsync(node, cancellationToken))
        {
            node = await client.GetAsync<V1Node>(null, name, cancellationToken) ?? node;
        }

        return new LaunchedNode(name, providerId, node);
    }

    public async Task<bool> DeleteAsync(NodeClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await client.DeleteAsync<V1Node>(null, NodeName(claim), null, cancellationToken);
        return true;
    }

    private static string NodeName(NodeClaim claim) => $"aks-{claim.Metadata.Name}-vmss000000";
}
