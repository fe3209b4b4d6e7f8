namespace Kaito.AppHost;

/// <summary>
/// The provisioner's node provider follows the cluster: LocalCluster → <c>local</c> (simulated GPU nodes); a real
/// cluster → <c>existing</c> (GPU nodes already there: kind, labelled nodes), or <c>azure</c> (AKS agent pools) when the
/// AKS settings are given — <c>--subscription</c>, <c>--resource-group</c>, <c>--cluster</c> (<c>Kaito:Azure:*</c>).
/// <c>--provider</c> (<c>Kaito:Provider</c>) overrides, except that <c>local</c> is refused for a real cluster: it
/// would write simulated Nodes into it. The choice is the provisioner's environment, shown on the dashboard.
/// </summary>
public static class ProvisionerProviderExtensions
{
    public const string Local = "local";
    public const string Existing = "existing";
    public const string Azure = "azure";

    public static IResourceBuilder<ProjectResource> WithNodeProvider(this IResourceBuilder<ProjectResource> provisioner, IDistributedApplicationBuilder builder,
        KaitoCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(provisioner);
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        var configuration = builder.Configuration;
        var subscription = configuration["Kaito:Azure:SubscriptionId"];
        var resourceGroup = configuration["Kaito:Azure:ResourceGroup"];
        var aks = configuration["Kaito:Azure:ClusterName"];
        var azureGiven = !string.IsNullOrWhiteSpace(subscription) || !string.IsNullOrWhiteSpace(resourceGroup) || !string.IsNullOrWhiteSpace(aks);
        var provider = configuration["Kaito:Provider"] is { Length: > 0 } chosen ? chosen
            : cluster.IsLocal ? Local
            : azureGiven ? Azure
            : Existing;
        if (provider is not (Local or Existing or Azure))
        {
            throw new InvalidOperationException($"--provider {provider}: the provisioner's providers are local, existing and azure.");
        }

        if (provider == Local && !cluster.IsLocal)
        {
            throw new InvalidOperationException(
                "--provider local makes simulated GPU nodes and runs only against LocalCluster; for this cluster use --provider existing " +
                "(GPU nodes already in it) or azure (--subscription, --resource-group and --cluster of the AKS cluster).");
        }

        provisioner.WithEnvironment("Provisioner__Provider", provider);
        if (provider == Azure)
        {
            foreach (var (name, value) in new[] { ("SubscriptionId", subscription), ("ResourceGroup", resourceGroup), ("ClusterName", aks) })
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    provisioner.WithEnvironment($"Provisioner__Azure__{name}", value);
                }
            }
        }

        return provisioner;
    }
}
