using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Hosting;
using Kaito.Operator.Runtime;
using Kaito.Provisioner.NodeClaims;

namespace Kaito.Provisioner;

public static class NodeProvisionerExtensions
{
    /// <summary>The provisioner's command-line switches.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--provider"] = $"{ProvisionerOptions.SectionName}:{nameof(ProvisionerOptions.Provider)}",
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
            .Validate(o => o.Provider == ProvisionerOptions.Local,
                "Provisioner:Provider (--provider) must be 'local': the azure and existing providers are not built yet.")
            .ValidateOnStart();
        services.AddSingleton<ProvisionerTelemetry>();
        services.AddClusterConnection<ProvisionerTelemetry>("provisioner", telemetry => telemetry.ActivitySource);
        services.AddInformer<NodeClaim>(ProvisionerTelemetry.Name);
        services.AddInformer<V1Node>(ProvisionerTelemetry.Name);
        services.AddSingleton<IGpuNodeProvider, LocalNodeProvider>();
        services.AddSingleton<NodeClaimReconciler>();
        services.AddOperatorHost(builder.Configuration, "kaito-provisioner", (provider, queue) =>
        {
            var telemetry = provider.GetRequiredService<ProvisionerTelemetry>();
            provider.GetRequiredService<Informer<NodeClaim>>().Changed += change => queue.Add(new ObjectReference("", change.Item.Metadata.Name));
            provider.GetRequiredService<Informer<V1Node>>().Changed += change =>
            {
                if (change.Item.Metadata.Labels?.TryGetValue(Kaito.Api.Names.Labels.AgentPool, out var claim) == true)
                {
                    queue.Add(new ObjectReference("", claim));
                }
            };
            return new ControllerRunner("nodeclaim", provider.GetRequiredService<NodeClaimReconciler>(), queue, 5,
                telemetry.ActivitySource, telemetry.Meter, provider.GetRequiredService<ILoggerFactory>().CreateLogger(ProvisionerTelemetry.Name));
        });
        return builder;
    }
}
