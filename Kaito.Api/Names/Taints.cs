namespace Kaito.Api.Names;

/// <summary>The taint KAITO puts on GPU nodes, and the tolerations its workloads carry.</summary>
public static class Taints
{
    /// <summary>Key of the GPU node taint.</summary>
    public const string SkuKey = "sku";

    /// <summary>Value of the GPU node taint.</summary>
    public const string SkuValue = "gpu";

    /// <summary>Effect of the GPU node taint.</summary>
    public const string NoSchedule = "NoSchedule";

    /// <summary>Azure's spot node taint key.</summary>
    public const string AzureSpotKey = "kubernetes.azure.com/scalesetpriority";

    /// <summary>Azure's spot node taint value.</summary>
    public const string AzureSpotValue = "spot";
}
