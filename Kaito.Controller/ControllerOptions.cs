using Kaito.Api.Names;

namespace Kaito.Controller;

/// <summary>How the workspace controller provisions nodes and where it runs.</summary>
public sealed class ControllerOptions
{
    public const string SectionName = "Controller";

    /// <summary>
    /// <c>azure-gpu-provisioner</c> (default: NodeClaims for the provisioner) or <c>byo</c> (bring your own nodes; KAITO's
    /// <c>disableNodeAutoProvisioning</c> feature gate).
    /// </summary>
    public string NodeProvisioner { get; set; } = GpuProvisioner;

    /// <summary>The cloud whose SKU table sizes nodes: azure, aws or arc.</summary>
    public string Cloud { get; set; } = "azure";

    /// <summary>Install Kaito's CRDs at start when they are missing or older (local development; a cluster's are deployed).</summary>
    public bool InstallCrds { get; set; }

    /// <summary>The registry of Kaito's images (the inference server, the tuner).</summary>
    public string ImageRegistry { get; set; } = "ghcr.io/kaito-dotnet";

    /// <summary>The tag of Kaito's images.</summary>
    public string ImageTag { get; set; } = "latest";

    /// <summary>Reconcile workers for workspaces (KAITO's MaxConcurrentReconciles).</summary>
    public int Workers { get; set; } = 5;

    public const string GpuProvisioner = "azure-gpu-provisioner";
    public const string BringYourOwn = "byo";

    public bool AutoProvisioning => !string.Equals(NodeProvisioner, BringYourOwn, StringComparison.OrdinalIgnoreCase);

    /// <summary>The label value KAITO's NodeClaims carry for the Karpenter node pool.</summary>
    public static string NodePool => Labels.KaitoNodePool;
}
