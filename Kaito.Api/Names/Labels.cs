namespace Kaito.Api.Names;

/// <summary>Label keys KAITO, Karpenter and Kubernetes put on workspaces, NodeClaims, nodes and pods.</summary>
public static class Labels
{
    /// <summary>The workspace an object belongs to (NodeClaims, nodes, pods, Services).</summary>
    public const string Workspace = "kaito.sh/workspace";

    /// <summary>The namespace of the workspace an object belongs to.</summary>
    public const string WorkspaceNamespace = "kaito.sh/workspacenamespace";

    /// <summary>The RAG engine an object belongs to.</summary>
    public const string RagEngine = "kaito.sh/ragengine";

    /// <summary>The namespace of the RAG engine an object belongs to.</summary>
    public const string RagEngineNamespace = "kaito.sh/ragenginenamespace";

    /// <summary>Prefix of the keys the Karpenter provisioner mode reserves (workspace, inference set names).</summary>
    public const string KarpenterKaitoPrefix = "karpenter.kaito.sh/";

    /// <summary>Karpenter's node pool label; KAITO's NodeClaims carry <c>kaito</c>.</summary>
    public const string KarpenterNodePool = "karpenter.sh/nodepool";

    /// <summary>The node pool value KAITO's NodeClaims use.</summary>
    public const string KaitoNodePool = "kaito";

    /// <summary><c>gpu</c> or <c>cpu</c>, set by the provisioner on agent pools.</summary>
    public const string MachineType = "kaito.sh/machine-type";

    /// <summary>When the provisioner created the capacity (UTC, <c>2006-01-02T15-04-05Z</c>).</summary>
    public const string CreationTimestamp = "kaito.sh/creation-timestamp";

    /// <summary>The well-known instance type label of a node.</summary>
    public const string InstanceType = "node.kubernetes.io/instance-type";

    /// <summary>The well-known operating system label of a node.</summary>
    public const string OperatingSystem = "kubernetes.io/os";

    /// <summary>The Azure SKU requirement KAITO adds to NodeClaims on Azure.</summary>
    public const string AzureSkuName = "karpenter.azure.com/sku-name";

    /// <summary>KAITO labels GPU nodes <c>accelerator=nvidia</c> once the device plugin reports GPUs.</summary>
    public const string Accelerator = "accelerator";

    /// <summary>The value of <see cref="Accelerator"/> for NVIDIA GPU nodes.</summary>
    public const string AcceleratorNvidia = "nvidia";

    /// <summary>The AKS agent pool a node belongs to.</summary>
    public const string AgentPool = "agentpool";

    /// <summary>The AKS agent pool a node belongs to (namespaced form).</summary>
    public const string AzureAgentPool = "kubernetes.azure.com/agentpool";

    /// <summary>A StatefulSet pod's ordinal.</summary>
    public const string PodIndex = "apps.kubernetes.io/pod-index";

    /// <summary>A StatefulSet pod's name; the main Service selects pod 0 with it.</summary>
    public const string StatefulSetPodName = "statefulset.kubernetes.io/pod-name";

    /// <summary>The ControllerRevisions of a workspace.</summary>
    public const string RevisionWorkspaceName = "workspace.kaito.io/name";

    /// <summary>Whether a label key is KAITO-reserved and therefore ignored in a workspace's label selector.</summary>
    public static bool IsReserved(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key is Workspace or WorkspaceNamespace or RagEngine or RagEngineNamespace
            || key.StartsWith(KarpenterKaitoPrefix, StringComparison.Ordinal);
    }
}
