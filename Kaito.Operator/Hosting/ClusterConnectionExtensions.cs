using System.Diagnostics;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Hosting;

public static class ClusterConnectionExtensions
{
    /// <summary>Starts <paramref name="component"/> by connecting to its cluster, traced through its own source.</summary>
    public static IServiceCollection AddClusterConnection<TTelemetry>(
        this IServiceCollection services, string component, Func<TTelemetry, ActivitySource> activitySource)
        where TTelemetry : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(component);
        ArgumentNullException.ThrowIfNull(activitySource);

        services.AddSingleton(provider =>
        {
            var source = activitySource(provider.GetRequiredService<TTelemetry>());
            return new ClusterConnectionService(
                provider.GetRequiredService<IKubernetes>(),
                source,
                component,
                provider.GetRequiredService<ILoggerFactory>().CreateLogger(source.Name));
        });
        services.AddHostedService(provider => provider.GetRequiredService<ClusterConnectionService>());
        return services;
    }
}
