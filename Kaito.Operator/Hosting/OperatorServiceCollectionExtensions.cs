using k8s;
using k8s.Models;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Hosting;

/// <summary>How a component registers the runtime: its informers, its controller runner and the host that runs them.</summary>
public static class OperatorServiceCollectionExtensions
{
    /// <summary>Registers a shared informer for <typeparamref name="T"/> (and as an <see cref="IInformer"/> for the host and health checks).</summary>
    public static IServiceCollection AddInformer<T>(this IServiceCollection services, string component, Action<Informer<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<InformerOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var informer = new Informer<T>(
                provider.GetRequiredService<KubernetesApi>(), ResourceKind.For<T>(), provider.GetRequiredService<IOptions<InformerOptions>>().Value,
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>().CreateLogger($"{component}.Informer.{typeof(T).Name}"));
            configure?.Invoke(informer);
            return informer;
        });
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<T>>());
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
    /// Registers the component's work queue, its controller runner (built by <paramref name="runner"/>, which also wires
    /// informer events to the queue), leader election on the Lease <paramref name="defaultLease"/> (overridable under
    /// <c>LeaderElection:</c>), the <see cref="OperatorHost"/>, and the informer readiness and liveness checks.
    /// </summary>
    public static IServiceCollection AddOperatorHost(this IServiceCollection services, IConfiguration configuration, string defaultLease,
        Func<IServiceProvider, WorkQueue<ObjectReference>, ControllerRunner> runner)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<LeaderElectionOptions>()
            .Bind(configuration.GetSection(LeaderElectionOptions.SectionName))
            .PostConfigure(o => o.LeaseName = string.IsNullOrEmpty(o.LeaseName) ? defaultLease : o.LeaseName);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new WorkQueue<ObjectReference>(provider.GetRequiredService<TimeProvider>(), TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5)));
        services.AddSingleton(provider => runner(provider, provider.GetRequiredService<WorkQueue<ObjectReference>>()));
        services.AddSingleton(provider => new OperatorHost(
            provider.GetRequiredService<IKubernetes>(),
            provider.GetServices<IInformer>(),
            [provider.GetRequiredService<ControllerRunner>()],
            provider.GetRequiredService<IOptions<LeaderElectionOptions>>(),
            provider.GetRequiredService<ILogger<OperatorHost>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddHostedService(provider => provider.GetRequiredService<OperatorHost>());
        services.AddHealthChecks()
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Readiness)
            .AddCheck<InformerHealthCheck>(InformerHealthCheck.Liveness, tags: ["live"]);
        return services;
    }
}
