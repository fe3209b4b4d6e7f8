using System.Net;
using Kaito.LocalCluster.Apis;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;
using Kaito.ServiceDefaults;

namespace Kaito.LocalCluster;

public static class LocalClusterExtensions
{
    private static readonly Dictionary<string, string> s_switchMappings = new()
    {
        ["--port"] = $"{LocalClusterOptions.SectionName}:{nameof(LocalClusterOptions.Port)}",
        ["--kubeconfig"] = $"{LocalClusterOptions.SectionName}:{nameof(LocalClusterOptions.Kubeconfig)}",
        ["--audit-log"] = $"{LocalClusterOptions.SectionName}:{nameof(LocalClusterOptions.AuditLog)}",
        ["--data-dir"] = $"{LocalClusterOptions.SectionName}:{nameof(LocalClusterOptions.DataDirectory)}",
        ["--gpu-nodes"] = $"{SimulationOptions.SectionName}:{nameof(SimulationOptions.NodesFile)}",
        ["--system-node"] = $"{SimulationOptions.SectionName}:{nameof(SimulationOptions.SystemNode)}",
    };

    /// <summary>Adds the command line with LocalCluster's switches (<c>--port</c>, <c>--kubeconfig</c>) mapped.</summary>
    public static IConfigurationBuilder AddLocalClusterCommandLine(this IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.AddCommandLine(args, s_switchMappings);
    }

    /// <summary>Registers LocalCluster: its options, listening address, kubeconfig writer and telemetry.</summary>
    public static WebApplicationBuilder AddLocalCluster(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var section = builder.Configuration.GetSection(LocalClusterOptions.SectionName);
        builder.Services.AddOptions<LocalClusterOptions>()
            .Bind(section)
            .Validate(o => o.Port is null or (>= 0 and <= 65535), "LocalCluster:Port (--port) must be between 0 and 65535.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Kubeconfig), "LocalCluster:Kubeconfig (--kubeconfig) must name a file.")
            .ValidateOnStart();

        // The API speaks TLS with a per-run CA (kubectl only sends bearer tokens over TLS) and listens on loopback only.
        var port = section.GetValue<int?>(nameof(LocalClusterOptions.Port));
        if (port is not null)
        {
            builder.WebHost.UseUrls($"https://127.0.0.1:{port}");
        }

        var dataDirectory = section.GetValue<string?>(nameof(LocalClusterOptions.DataDirectory));
        if (!string.IsNullOrWhiteSpace(dataDirectory))
        {
            // It holds Secrets and the cluster's keys.
            OwnerOnlyFile.CreateDirectory(Path.GetFullPath(dataDirectory));
        }

        var certificates = ServingCertificates(new LocalClusterOptions { DataDirectory = dataDirectory }.PkiDirectory);
        builder.Services.AddSingleton(certificates);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificates.Server));

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ResourceRegistry>();
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            builder.Services.AddSingleton<IObjectPersistence, InMemoryPersistence>();
        }
        else
        {
            builder.Services.AddSingleton<IObjectPersistence>(_ => new SqlitePersistence(Path.GetFullPath(dataDirectory)));
        }

        builder.Services.AddSingleton<ClusterStore>();
        builder.Services.AddSingleton<AdmissionWebhooks>();
        builder.Services.AddSingleton<ResourceHandler>();
        // The kinds with rules of their own, as kube-apiserver's registry strategies.
        builder.Services.AddSingleton<Apis.Strategies.ResourceStrategies>();
        builder.Services.AddSingleton(new Apis.Strategies.KindStrategy("/namespaces", new Apis.Strategies.NamespaceStrategy()));
        builder.Services.AddSingleton(new Apis.Strategies.KindStrategy("/services", new Apis.Strategies.ServiceStrategy()));
        builder.Services.AddSingleton(new Apis.Strategies.KindStrategy("/secrets", new Apis.Strategies.SecretStrategy()));
        builder.Services.AddSingleton(new Apis.Strategies.KindStrategy("batch/jobs", new Apis.Strategies.JobStrategy()));
        builder.Services.AddSingleton(p => new Apis.Strategies.KindStrategy("/pods", ActivatorUtilities.CreateInstance<Apis.Strategies.PodStrategy>(p)));
        builder.Services.AddSingleton(p => new Apis.Strategies.KindStrategy(Apis.Strategies.CustomResourceDefinitionStrategy.GroupResource,
            ActivatorUtilities.CreateInstance<Apis.Strategies.CustomResourceDefinitionStrategy>(p)));
        builder.Services.AddSingleton<ApiRequestMetrics>();
        builder.Services.AddHostedService<ClusterBootstrap>();
        builder.Services.AddOptions<SimulationOptions>()
            .Bind(builder.Configuration.GetSection(SimulationOptions.SectionName))
            .Validate(o => o.NodesFile is null || File.Exists(o.NodesFile), "LocalCluster:Simulation:NodesFile (--gpu-nodes) names a file that does not exist.")
            .ValidateOnStart();
        builder.Services.AddOptions<Kubelet.KubeletOptions>()
            .Bind(builder.Configuration.GetSection(Kubelet.KubeletOptions.SectionName))
            .Validate(o => o.RestartBackOff > TimeSpan.Zero && o.MaxRestartBackOff >= o.RestartBackOff, "LocalCluster:Kubelet:RestartBackOff must be positive and at most MaxRestartBackOff.")
            .ValidateOnStart();
        builder.Services.AddSingleton<Kubelet.ContainerImages>();
        builder.Services.AddSingleton<Kubelet.LocalKubelet>();
        builder.Services.AddHostedService(services => services.GetRequiredService<Kubelet.LocalKubelet>());
        builder.Services.AddHostedService<Kubelet.ServiceProxy>();
        builder.Services.AddHostedService<ClusterSimulation>();
        builder.Services.AddOptions<FaultOptions>()
            .Bind(builder.Configuration.GetSection(FaultOptions.SectionName))
            .Validate(o => o.ErrorRate is >= 0 and <= 1, "LocalCluster:Faults:ErrorRate must be between 0 and 1.")
            .ValidateOnStart();
        builder.Services.AddSingleton<LocalClusterTelemetry>();
        builder.Services.AddSingleton<ClusterCredentials>();
        builder.Services.AddSingleton<ServiceAccountTokens>();
        builder.Services.AddSingleton<Apis.RbacAuthorizer>();
        builder.Services.AddSingleton<KubeconfigWriter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<KubeconfigWriter>());
        builder.Services.AddHealthChecks().AddCheck<KubeconfigHealthCheck>("kubeconfig");
        return builder;
    }

    /// <summary>The API's CA and serving certificate: kept under the data directory when there is one, else made per run.</summary>
    private static SelfSignedCertificates ServingCertificates(string? pki)
    {
        if (pki is not null && SelfSignedCertificates.Load(pki) is { } kept)
        {
            return kept;
        }

        var certificates = SelfSignedCertificates.Create(
            "kaito-local-cluster",
            ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
            [IPAddress.Loopback, IPAddress.IPv6Loopback],
            TimeSpan.FromDays(365));
        if (pki is not null)
        {
            OwnerOnlyFile.CreateDirectory(pki);
            certificates.Save(pki);
        }

        return certificates;
    }
}
