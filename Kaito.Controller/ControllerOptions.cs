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

    /// <summary>The tag of Kaito's images: by default this controller's own version, the tag deploy/images/build-images.sh gives them (never <c>latest</c>).</summary>
    public string ImageTag { get; set; } = ReleaseVersion;

    /// <summary>The version this controller was built as (<c>Version</c> in Directory.Build.props), without the commit.</summary>
    public static string ReleaseVersion { get; } = Kaito.ServiceDefaults.ReleaseVersion.Of(typeof(ControllerOptions).Assembly);

    /// <summary>The namespace Kaito is installed in, where the default tuning templates (<c>lora-params-template</c>,
    /// <c>qlora-params-template</c>) live; the built-in templates are used where it has none.</summary>
    public string ReleaseNamespace { get; set; } = "kaito-system";

    /// <summary>
    /// Where workspace pods pull base weights from: <c>&lt;ModelRegistry&gt;/kaito-&lt;preset&gt;:&lt;tag&gt;</c>, the tag
    /// pinned per preset in the catalog (KAITO's MCR images by default; <c>localhost:5001</c> on a laptop).
    /// </summary>
    public string ModelRegistry { get; set; } = "mcr.microsoft.com/aks/kaito";

    /// <summary>
    /// Where preset weights come from: <c>image</c> (default: the preset's model image from <see cref="ModelRegistry"/>) or
    /// <c>huggingface</c> (KAITO v0.12's download at runtime from <see cref="HuggingFaceEndpoint"/>, at the catalog's revision).
    /// </summary>
    public string ModelSource { get; set; } = "image";

    /// <summary>The Hugging Face Hub (or a mirror speaking its API) for <c>ModelSource=huggingface</c>.</summary>
    public string HuggingFaceEndpoint { get; set; } = "https://huggingface.co";

    /// <summary>The node folder (a hostPath) where model pullers keep the blobs they downloaded, shared by every pod on the node; empty: no cache.</summary>
    public string? ModelCachePath { get; set; } = "/var/lib/kaito/model-cache";

    /// <summary>
    /// <c>host:port</c> origins (comma-separated) that tuning data may be downloaded from although they are not public
    /// addresses, e.g. a dataset server for local development; admission and the downloader both honour it. Empty: none.
    /// </summary>
    public string? AllowedDataHosts { get; set; }

    /// <summary>The longest a tuning Job may run, downloads and push included (its <c>activeDeadlineSeconds</c>).</summary>
    public TimeSpan TuningActiveDeadline { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Retries of a tuning pod that failed for a reason other than bad input (exit codes 2 and 3 fail the job at once).</summary>
    public int TuningBackoffLimit { get; set; } = 2;

    /// <summary>
    /// Give each inference workspace a NetworkPolicy: its server reachable from the cluster (and from anywhere behind
    /// its load balancer), nothing else from outside. Off: no policy is made.
    /// </summary>
    public bool NetworkPolicies { get; set; } = true;

    /// <summary>Reconcile workers for workspaces (KAITO's MaxConcurrentReconciles).</summary>
    public int Workers { get; set; } = 5;

    public const string GpuProvisioner = "azure-gpu-provisioner";
    public const string BringYourOwn = "byo";

    public bool AutoProvisioning => !string.Equals(NodeProvisioner, BringYourOwn, StringComparison.OrdinalIgnoreCase);

    /// <summary>The label value KAITO's NodeClaims carry for the Karpenter node pool.</summary>
    public static string NodePool => Labels.KaitoNodePool;
}
