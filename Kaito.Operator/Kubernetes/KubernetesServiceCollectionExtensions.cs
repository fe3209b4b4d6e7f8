using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Kubernetes;

public static class KubernetesServiceCollectionExtensions
{
    /// <summary>The command-line switches every Kubernetes-facing service accepts, mapped to <see cref="KubernetesOptions"/>.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--kubeconfig"] = $"{KubernetesOptions.SectionName}:{nameof(KubernetesOptions.Kubeconfig)}",
        ["--context"] = $"{KubernetesOptions.SectionName}:{nameof(KubernetesOptions.Context)}",
    };

    /// <summary>
    /// Registers one <see cref="IKubernetes"/> for the configured cluster and a readiness check on its API server.
    /// </summary>
    public static TBuilder AddKubernetesClient<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOptions<KubernetesOptions>()
            .Bind(builder.Configuration.GetSection(KubernetesOptions.SectionName))
            .Validate(o => o.ProbeTimeout > TimeSpan.Zero, "Kubernetes:ProbeTimeout must be positive.")
            .ValidateOnStart();

        var userAgent = $"{builder.Environment.ApplicationName}/{typeof(KubernetesApi).Assembly.GetName().Version}";
        builder.Services.AddSingleton(services =>
            new KubernetesApi(KubernetesClientFactory.BuildConfiguration(services.GetRequiredService<IOptions<KubernetesOptions>>().Value), userAgent));
        builder.Services.AddSingleton<IKubernetes>(services => services.GetRequiredService<KubernetesApi>());

        builder.Services.AddHealthChecks().AddCheck<KubernetesApiHealthCheck>(KubernetesApiHealthCheck.Name);
        return builder;
    }

    /// <summary>Adds the command line with the Kubernetes switches (<c>--kubeconfig</c>, <c>--context</c>) mapped.</summary>
    public static IConfigurationBuilder AddKubernetesCommandLine(this IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.AddCommandLine(args, SwitchMappings.ToDictionary());
    }
}
