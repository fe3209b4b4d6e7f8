using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Provisioner.NodeClaims;

namespace Kaito.Provisioner.Azure;

/// <summary>
/// The agent pool a NodeClaim becomes (Azure/gpu-provisioner's pkg/providers/instance): one VM of the claim's size, its
/// labels plus Karpenter's and KAITO's, its taints as <c>key=value:Effect</c>, the OS disk from the storage request, and
/// the OS image from <c>kaito.sh/node-image-family</c>.
/// </summary>
public static class AgentPoolBody
{
    /// <summary><c>gpu</c> for Azure's N-series sizes, <c>cpu</c> otherwise, as gpu-provisioner labels pools.</summary>
    public static string MachineType(string vmSize) =>
        vmSize?.Contains("Standard_N", StringComparison.OrdinalIgnoreCase) == true ? "gpu" : "cpu";

    /// <summary>The agent pool ARM creates for a claim; a claim without a storage request is refused.</summary>
    public static JsonObject For(NodeClaim claim, string vmSize, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var labels = new JsonObject();
        foreach (var (key, value) in claim.Metadata.Labels ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        labels[Labels.KarpenterNodePool] = Labels.KaitoNodePool;
        labels[Labels.MachineType] = MachineType(vmSize);
        labels[Labels.CreationTimestamp] = (claim.Metadata.CreationTimestamp ?? now).ToString("yyyy-MM-dd'T'HH-mm-ss'Z'", CultureInfo.InvariantCulture);
        var properties = new JsonObject
        {
            ["vmSize"] = vmSize,
            ["count"] = 1,
            ["mode"] = "User",
            ["osType"] = "Linux",
            ["type"] = "VirtualMachineScaleSets",
            ["nodeLabels"] = labels,
            ["nodeTaints"] = new JsonArray([.. (claim.Spec?.Taints ?? []).Select(t => (JsonNode?)$"{t.Key}={t.Value}:{t.Effect}")]),
        };
        // gpu-provisioner refuses a claim without a storage request (the OS disk would be 0 GB): so does this.
        var diskGiB = claim.Spec?.Resources?.Requests?.TryGetValue(Resources.Storage, out var storage) == true
            ? (long)(storage.ToDecimal() / (1024m * 1024 * 1024))
            : 0;
        properties["osDiskSizeGB"] = diskGiB > 0
            ? diskGiB
            : throw new LaunchFailedException("InvalidStorageRequest",
                $"storage request of NodeClaim {claim.Metadata.Name} should be at least 1Gi: it sizes the node's OS disk");

        var family = claim.Metadata.Annotations?.TryGetValue(Annotations.NodeImageFamily, out var f) == true ? f : null;
        properties["osSKU"] = family?.ToLowerInvariant() switch
        {
            "azurelinux" => "AzureLinux",
            _ => "Ubuntu",
        };
        return new JsonObject { ["properties"] = properties };
    }
}
