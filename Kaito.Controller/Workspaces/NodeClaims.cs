using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using Kaito.Api;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.NodeClaims;
using Kaito.Api.Workspaces;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces;

/// <summary>The NodeClaim KAITO creates for one missing GPU node of a workspace (KAITO's pkg/utils/nodeclaim).</summary>
public static class NodeClaims
{
    /// <summary>Karpenter AWS's well-known label of an instance type's GPU count.</summary>
    public const string AwsInstanceGpuCount = "karpenter.k8s.aws/instance-gpu-count";

    /// <summary>The label index of NodeClaims by workspace (the key is the workspace's <see cref="ObjectReference"/>).</summary>
    public const string WorkspaceIndex = "workspace";

    /// <summary>The workspace a NodeClaim or node belongs to, by the labels KAITO gives them.</summary>
    public static IEnumerable<ObjectReference> WorkspaceOf(V1ObjectMeta metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.Labels?.TryGetValue(Labels.Workspace, out var name) == true &&
               metadata.Labels.TryGetValue(Labels.WorkspaceNamespace, out var ns)
            ? [new ObjectReference(ns, name)]
            : [];
    }

    /// <summary>
    /// A claim named <c>ws</c> + 9 hex characters (a valid AKS agent pool name), labelled for the workspace and its
    /// selector, tainted <c>sku=gpu:NoSchedule</c>, requiring the instance type, and sized by the preset's disk need;
    /// on AWS it references the <c>default</c> EC2NodeClass and requires GPUs, as KAITO's do.
    /// </summary>
    public static NodeClaim For(Workspace workspace, ModelPreset? preset, string cloud, string nonce)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var instanceType = workspace.Resource!.InstanceType!;
        var labels = new Dictionary<string, string>
        {
            [Labels.KarpenterNodePool] = Labels.KaitoNodePool,
            [Labels.Workspace] = workspace.Metadata.Name,
            [Labels.WorkspaceNamespace] = workspace.Metadata.NamespaceProperty,
        };
        foreach (var (key, value) in workspace.Resource.LabelSelector?.MatchLabels ?? new Dictionary<string, string>())
        {
            labels.TryAdd(key, value);
        }

        // Always an image family, as KAITO's claims carry one: the workspace's, else Ubuntu.
        var annotations = new Dictionary<string, string>
        {
            [Annotations.DoNotDisrupt] = "true",
            [Annotations.NodeImageFamily] = workspace.Metadata.Annotations?.TryGetValue(Annotations.NodeImageFamily, out var family) == true && family.Length > 0 ? family : "ubuntu",
        };

        var requirements = new List<NodeSelectorRequirementWithMinValues>
        {
            new() { Key = Labels.KarpenterNodePool, Operator = "In", Values = [Labels.KaitoNodePool] },
            new() { Key = Labels.InstanceType, Operator = "In", Values = [instanceType] },
            new() { Key = Labels.OperatingSystem, Operator = "In", Values = ["linux"] },
        };
        if (cloud == "azure")
        {
            requirements.Add(new NodeSelectorRequirementWithMinValues { Key = Labels.AzureSkuName, Operator = "In", Values = [instanceType] });
        }
        else if (cloud == "aws")
        {
            requirements.Add(new NodeSelectorRequirementWithMinValues { Key = AwsInstanceGpuCount, Operator = "Gt", Values = ["0"] });
        }

        var diskGiB = workspace.Tuning is not null ? preset?.Tuning?.DiskGiB ?? 1024 : preset?.InferenceDiskGiB ?? 1024;
        return new NodeClaim
        {
            Metadata = new V1ObjectMeta { Name = Name(workspace, nonce), Labels = labels, Annotations = annotations },
            Spec = new NodeClaimSpec
            {
                // Karpenter's AWS provider claims EC2NodeClasses; gpu-provisioner (Azure, Arc) the KaitoNodeClass.
                NodeClassRef = cloud == "aws"
                    ? new NodeClassReference { Group = "karpenter.k8s.aws", Kind = "EC2NodeClass", Name = "default" }
                    : new NodeClassReference { Group = KaitoGroup.Name, Kind = KaitoNodeClass.KindName, Name = KaitoNodeClass.DefaultName },
                Taints = [new V1Taint { Key = Taints.SkuKey, Value = Taints.SkuValue, Effect = Taints.NoSchedule }],
                Requirements = requirements,
                Resources = new NodeClaimResources { Requests = new Dictionary<string, ResourceQuantity> { [Resources.Storage] = new($"{diskGiB}Gi") } },
            },
        };
    }

    /// <summary><c>ws</c> + the first 9 hex characters of a hash of the workspace and a nonce.</summary>
    public static string Name(Workspace workspace, string nonce)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{workspace.Metadata.NamespaceProperty}/{workspace.Metadata.Name}/{workspace.Metadata.Uid}/{nonce}"));
        return "ws" + Convert.ToHexStringLower(hash)[..9];
    }

    public static bool IsReady(NodeClaim claim) =>
        claim.Metadata.DeletionTimestamp is null && Conditions.IsTrue(claim.Status?.Conditions, ConditionTypes.Ready);
}
