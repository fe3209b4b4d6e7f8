using Kaito.Api.Catalog;

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
    /// Looks up a ConfigMap's data by name in the workspace's namespace; null when it does not exist. When this
    /// lookup is not given, ConfigMap contents are not checked.
    /// </summary>
    public Func<string, IReadOnlyDictionary<string, string>?>? ConfigMaps { get; init; }
}
