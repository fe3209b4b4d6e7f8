namespace Kaito.Provisioner;

/// <summary>Which GPU node provider turns NodeClaims into nodes.</summary>
public sealed class ProvisionerOptions
{
    public const string SectionName = "Provisioner";

    /// <summary>
    /// <c>azure</c>: one AKS agent pool per claim through ARM (see <see cref="Azure.AzureOptions"/>); <c>existing</c>:
    /// bind claims to nodes that already exist; <c>local</c>:
    /// simulated nodes in LocalCluster (or any cluster whose nodes are not real machines).
    /// </summary>
    public string Provider { get; set; } = Local;

    /// <summary>How long a local node takes to "boot" before it registers.</summary>
    public TimeSpan BootDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The cloud whose SKU table gives a local node its GPUs, CPU and memory.</summary>
    public string Cloud { get; set; } = "azure";

    public const string Local = "local";
    public const string Azure = "azure";
    public const string Existing = "existing";
}
