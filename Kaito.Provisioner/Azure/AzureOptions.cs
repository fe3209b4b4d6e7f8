namespace Kaito.Provisioner.Azure;

/// <summary>The AKS cluster whose agent pools the azure provider manages, and how it reaches ARM.</summary>
public sealed class AzureOptions
{
    public const string SectionName = "Provisioner:Azure";

    /// <summary>The subscription of the cluster (<c>--subscription</c>, or <c>ARM_SUBSCRIPTION_ID</c>).</summary>
    public string? SubscriptionId { get; set; }

    /// <summary>The cluster's resource group (<c>--resource-group</c>, or <c>ARM_RESOURCE_GROUP</c>).</summary>
    public string? ResourceGroup { get; set; }

    /// <summary>The AKS cluster's name (<c>--cluster</c>, or <c>AZURE_CLUSTER_NAME</c>).</summary>
    public string? ClusterName { get; set; }

    /// <summary>The ARM endpoint (<c>--arm-endpoint</c>): public cloud by default; sovereign clouds or a test server otherwise.</summary>
    public Uri ArmEndpoint { get; set; } = new("https://management.azure.com");

    /// <summary>The agentPools API version.</summary>
    public string ApiVersion { get; set; } = "2024-09-01";

    /// <summary>The token scope for ARM.</summary>
    public string TokenScope { get; set; } = "https://management.azure.com/.default";

    /// <summary>
    /// The Entra ID authority (<c>--authority-host</c>, else <c>AZURE_AUTHORITY_HOST</c>, else the public cloud's). When
    /// set, MSAL's instance discovery is turned off so a private or test authority is used as given.
    /// </summary>
    public Uri? AuthorityHost { get; set; }

    /// <summary>A PEM file of extra CA certificates to trust for ARM and the authority (private endpoints, test servers).</summary>
    public string? TrustedCaFile { get; set; }

    /// <summary>How often a pool in creation or deletion is polled.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often KAITO-created pools without a NodeClaim are looked for and deleted.</summary>
    public TimeSpan GarbageCollectionInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A pool younger than this is never collected (its claim may not be in the cache yet).</summary>
    public TimeSpan GarbageCollectionMinimumAge { get; set; } = TimeSpan.FromSeconds(30);
}
