using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Operator.Hosting;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Kaito.Provisioner.NodeClaims;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        services.AddOptions<LeaderElectionOptions>()
            .Bind(builder.Configuration.GetSection(LeaderElectionOptions.SectionName))
            .PostConfigure(o => o.LeaseName = string.IsNullOrEmpty(o.LeaseName) ? "kaito-provisioner" : o.LeaseName);
        services.AddOptions<InformerOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ProvisionerTelemetry>();
        services.AddClusterConnection<ProvisionerTelemetry>("provisioner", telemetry => telemetry.ActivitySource);

        services.AddSingleton(provider => NewInformer<NodeClaim>(provider));
        services.AddSingleton(provider => NewInformer<V1Node>(provider));
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<NodeClaim>>());
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<V1Node>>());
        services.AddSingleton<IGpuNodeProvider, LocalNodeProvider>();
        services.AddSingleton<NodeClaimReconciler>();
        services.AddSingleton(provider => new WorkQueue<ObjectReference>(provider.GetRequiredService<TimeProvider>(), TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5)));
        services.AddSingleton(provider =>
        {
            var telemetry = provider.GetRequiredService<ProvisionerTelemetry>();
            var queue = provider.GetRequiredService<WorkQueue<ObjectReference>>();
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
        services.AddHostedService(provider => new OperatorHost(
            provider.GetRequiredService<k8s.IKubernetes>(),
            provider.GetServices<IInformer>(),
            [provider.GetRequiredService<ControllerRunner>()],
            provider.GetRequiredService<IOptions<LeaderElectionOptions>>(),
            provider.GetRequiredService<ILogger<OperatorHost>>()));
        services.AddHealthChecks()
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Readiness)
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Liveness, tags: [Kaito.ServiceDefaults.HealthEndpoints.LiveTag]);
        return builder;
    }

    private static Informer<T> NewInformer<T>(IServiceProvider provider)
        where T : class, k8s.IKubernetesObject<V1ObjectMeta> =>
        new(provider.GetRequiredService<KubernetesApi>(), ResourceKind.For<T>(), provider.GetRequiredService<IOptions<InformerOptions>>().Value,
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>().CreateLogger($"{ProvisionerTelemetry.Name}.Informer.{typeof(T).Name}"));
}
