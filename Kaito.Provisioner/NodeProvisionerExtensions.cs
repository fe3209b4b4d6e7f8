using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Hosting;
using Kaito.Operator.Runtime;
using Kaito.Provisioner.Azure;
using Kaito.Provisioner.NodeClaims;

namespace Kaito.Provisioner;

public static class NodeProvisionerExtensions
{
    /// <summary>The provisioner's command-line switches.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--provider"] = $"{ProvisionerOptions.SectionName}:{nameof(ProvisionerOptions.Provider)}",
        ["--subscription"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.SubscriptionId)}",
        ["--resource-group"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.ResourceGroup)}",
        ["--cluster"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.ClusterName)}",
        ["--arm-endpoint"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.ArmEndpoint)}",
        ["--authority-host"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.AuthorityHost)}",
        ["--trusted-ca-file"] = $"{AzureOptions.SectionName}:{nameof(AzureOptions.TrustedCaFile)}",
    };

    /// <summary>
    /// Registers the NodeClaim controller: informers for NodeClaims and nodes, the reconciler with the configured
    /// provider, workers, leader election (Lease kaito-provisioner), health checks and telemetry.
    /// </summary>
    public static TBuilder AddNodeProvisioner<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<ProvisionerOptions>()
            .Bind(builder.Configuration.GetSection(ProvisionerOptions.SectionName))
            .Validate(o => o.Provider is ProvisionerOptions.Local or ProvisionerOptions.Azure or ProvisionerOptions.Existing,
                "Provisioner:Provider (--provider) must be azure, existing or local.")
            .ValidateOnStart();
        var provider = builder.Configuration[$"{ProvisionerOptions.SectionName}:{nameof(ProvisionerOptions.Provider)}"] ?? ProvisionerOptions.Local;
        services.AddSingleton<ProvisionerTelemetry>();
        services.AddClusterConnection<ProvisionerTelemetry>("provisioner", telemetry => telemetry.ActivitySource);
        if (provider == ProvisionerOptions.Azure)
        {
            services.AddOptions<AzureOptions>()
                .Bind(builder.Configuration.GetSection(AzureOptions.SectionName))
                // the variable names of Azure/gpu-provisioner's chart, for operators who know it
                .PostConfigure(o =>
                {
                    o.SubscriptionId ??= Environment.GetEnvironmentVariable("ARM_SUBSCRIPTION_ID");
                    o.ResourceGroup ??= Environment.GetEnvironmentVariable("ARM_RESOURCE_GROUP");
                    o.ClusterName ??= Environment.GetEnvironmentVariable("AZURE_CLUSTER_NAME");
                })
                .Validate(o => !string.IsNullOrEmpty(o.SubscriptionId), "the azure provider needs --subscription (Provisioner:Azure:SubscriptionId, or ARM_SUBSCRIPTION_ID).")
                .Validate(o => !string.IsNullOrEmpty(o.ResourceGroup), "the azure provider needs --resource-group (Provisioner:Azure:ResourceGroup, or ARM_RESOURCE_GROUP).")
                .Validate(o => !string.IsNullOrEmpty(o.ClusterName), "the azure provider needs --cluster (Provisioner:Azure:ClusterName, or AZURE_CLUSTER_NAME).")
                .Validate(o => o.TrustedCaFile is null || File.Exists(o.TrustedCaFile), "--trusted-ca-file names a file that does not exist.")
                .ValidateOnStart();
            services.AddSingleton<ArmClient>();
            services.AddSingleton<AgentPoolProvider>();
            services.AddSingleton<IGpuNodeProvider>(p => p.GetRequiredService<AgentPoolProvider>());
            services.AddHostedService<OrphanPoolCollector>();
        }
        else if (provider == ProvisionerOptions.Existing)
        {
            services.AddSingleton<IGpuNodeProvider, ExistingNodeProvider>();
        }
        else
        {
            services.AddSingleton<LocalClusterGuard>();
            services.AddHostedService(p => p.GetRequiredService<LocalClusterGuard>());
            services.AddSingleton<IGpuNodeProvider, LocalNodeProvider>();
        }

        services.AddController<NodeClaim, NodeClaimReconciler, ProvisionerTelemetry>("nodeclaim", controller => controller
            // A node names the claim it was made for in its agent-pool label.
            .Watches<V1Node>(node => node.Metadata.Labels?.TryGetValue(Kaito.Api.Names.Labels.AgentPool, out var claim) == true ? [new ObjectReference("", claim)] : [])
            .WithWorkers(_ => 5), clusterScoped: true);
        services.AddOperatorHost(builder.Configuration, "kaito-provisioner");
        return builder;
    }
}
