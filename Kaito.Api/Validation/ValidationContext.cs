using Kaito.Api.Catalog;
using Kaito.Api.Nodes;

namespace Kaito.Api.Validation;

/// <summary>What the rules depend on besides the object: operator settings, catalogs, and the namespace's ConfigMaps.</summary>
public sealed class ValidationContext
{
    /// <summary>Node auto-provisioning is on (KAITO's default); off means bring-your-own nodes.</summary>
    public bool NodeAutoProvisioning { get; init; } = true;

    /// <summary>The cloud whose SKU table applies: azure, aws or arc.</summary>
    public string Cloud { get; init; } = "azure";

    /// <summary>The vLLM feature gate: when off, every workspace uses the transformers runtime.</summary>
    public bool VLlmEnabled { get; init; } = true;

    /// <summary>The model presets.</summary>
    public ModelCatalog Models { get; init; } = ModelCatalog.Default;

    /// <summary>The GPU SKUs.</summary>
    public GpuSkuCatalog Skus { get; init; } = GpuSkuCatalog.Default;

    /// <summary>
    /// <c>host:port</c> origins that tuning data URLs may name although they are not public (a dataset server for local
    /// development, set by the operator, never by a workspace); the downloader is given the same list.
    /// </summary>
    public IReadOnlyCollection<string> AllowedDataOrigins { get; init; } = [];

    /// <summary>
    /// Looks up a ConfigMap's data by name in the workspace's namespace; null when it does not exist. When this
    /// lookup is not given, ConfigMap contents are not checked.
    /// </summary>
    public Func<string, IReadOnlyDictionary<string, string>?>? ConfigMaps { get; init; }

    /// <summary>
    /// Lists the cluster's nodes, for the bring-your-own checks on create (nodes the selector picks, their GPU labels).
    /// When this lookup is not given, nodes are not checked.
    /// </summary>
    public Func<IReadOnlyList<NodeLabels>>? Nodes { get; init; }
}
