using k8s;
using k8s.Models;
using Kaito.Operator.Client;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Kaito.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Hosting;

/// <summary>How a component registers the runtime: its informers, its controller runner and the host that runs them.</summary>
public static class OperatorServiceCollectionExtensions
{
    /// <summary>
    /// Registers the shared informer for <typeparamref name="T"/> (and as an <see cref="IInformer"/> for the host and
    /// health checks) once, however many controllers ask; every <paramref name="configure"/> given is applied to it.
    /// </summary>
    public static IServiceCollection AddInformer<T>(this IServiceCollection services, string component, Action<Informer<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(services);
        if (configure is not null)
        {
            services.AddSingleton(new InformerSetup<T>(configure));
        }

        if (services.Any(d => d.ServiceType == typeof(Informer<T>)))
        {
            return services;
        }

        services.AddOptions<InformerOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ObjectCache>();
        services.AddSingleton(provider =>
        {
            var informer = new Informer<T>(
                provider.GetRequiredService<KubernetesApi>(), ResourceKind.For<T>(), provider.GetRequiredService<IOptions<InformerOptions>>().Value,
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>().CreateLogger($"{component}.Informer.{typeof(T).Name}"));
            foreach (var setup in provider.GetServices<InformerSetup<T>>())
            {
                setup.Configure(informer);
            }

            return informer;
        });
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<T>>());
        return services;
    }

    /// <summary>
    /// Registers a controller for <typeparamref name="TPrimary"/>: its informers (shared), its work queue wired as
    /// <paramref name="build"/> declares, and a <see cref="ControllerRunner"/> running <typeparamref name="TReconciler"/>
    /// under the component's telemetry. The <see cref="OperatorHost"/> runs every controller while it leads. Set
    /// <paramref name="clusterScoped"/> for kinds without a namespace (NodeClaims, Nodes).
    /// </summary>
    public static IServiceCollection AddController<TPrimary, TReconciler, TTelemetry>(this IServiceCollection services, string name,
        Action<ControllerBuilder<TPrimary>> build, bool clusterScoped = false)
        where TPrimary : class, IKubernetesObject<V1ObjectMeta>
        where TReconciler : class, IReconciler
        where TTelemetry : ComponentTelemetry
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(build);
        var component = typeof(TTelemetry).Name.Replace("Telemetry", "", StringComparison.Ordinal);
        var builder = new ControllerBuilder<TPrimary>(services, $"Kaito.{component}", clusterScoped);
        build(builder);
        services.TryAddSingleton<ObjectClient>();
        services.TryAddSingleton<TReconciler>();
        services.AddSingleton(provider =>
        {
            var queue = new WorkQueue<ObjectReference>(provider.GetRequiredService<TimeProvider>(), TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5));
            foreach (var wire in builder.Wiring)
            {
                wire(provider, queue);
            }

            var telemetry = provider.GetRequiredService<TTelemetry>();
            return new ControllerRunner(name, provider.GetRequiredService<TReconciler>(), queue, builder.Workers(provider),
                telemetry.ActivitySource, telemetry.Meter, provider.GetRequiredService<ILoggerFactory>().CreateLogger(telemetry.ActivitySource.Name));
        });
        return services;
    }

    /// <summary>Registers the component's <see cref="EventRecorder"/>, writing Events as <paramref name="component"/>.</summary>
    public static IServiceCollection AddEventRecorder(this IServiceCollection services, string component)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new EventRecorder(provider.GetRequiredService<IKubernetes>(), component,
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<EventRecorder>>()));
        services.AddHostedService(provider => provider.GetRequiredService<EventRecorder>());
        return services;
    }

    /// <summary>
    /// Registers leader election on the Lease <paramref name="defaultLease"/> (overridable under <c>LeaderElection:</c>),
    /// the <see cref="OperatorHost"/> running every registered controller while this replica leads, and the informer
    /// readiness and liveness checks.
    /// </summary>
    public static IServiceCollection AddOperatorHost(this IServiceCollection services, IConfiguration configuration, string defaultLease)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<LeaderElectionOptions>()
            .Bind(configuration.GetSection(LeaderElectionOptions.SectionName))
            .PostConfigure(o => o.LeaseName = string.IsNullOrEmpty(o.LeaseName) ? defaultLease : o.LeaseName);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new OperatorHost(
            provider.GetRequiredService<IKubernetes>(),
            provider.GetServices<IInformer>(),
            provider.GetServices<ControllerRunner>(),
            provider.GetRequiredService<IOptions<LeaderElectionOptions>>(),
            provider.GetRequiredService<ILogger<OperatorHost>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddHostedService(provider => provider.GetRequiredService<OperatorHost>());
        services.AddHealthChecks()
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Readiness)
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Liveness, tags: ["live"]);
        return services;
    }

    /// <summary>One configuration step for the informer of <typeparamref name="T"/> (an index, a label selector).</summary>
    private sealed record InformerSetup<T>(Action<Informer<T>> Configure)
        where T : class, IKubernetesObject<V1ObjectMeta>;
}
