using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Api.Workspaces;
using Kaito.Controller.Workspaces;
using Kaito.Operator.Hosting;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Kaito.Controller;

public static class WorkspaceControllerExtensions
{
    /// <summary>The controller's command-line switches.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--node-provisioner"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.NodeProvisioner)}",
        ["--cloud"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.Cloud)}",
        ["--install-crds"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.InstallCrds)}",
    };

    /// <summary>
    /// Registers the workspace controller: informers for workspaces, NodeClaims and nodes, the reconciler with its
    /// work queue and workers, leader election, health checks, telemetry and the optional CRD installer.
    /// </summary>
    public static TBuilder AddWorkspaceController<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<ControllerOptions>()
            .Bind(builder.Configuration.GetSection(ControllerOptions.SectionName))
            .Validate(o => o.NodeProvisioner is ControllerOptions.GpuProvisioner or ControllerOptions.BringYourOwn,
                $"Controller:NodeProvisioner (--node-provisioner) must be {ControllerOptions.GpuProvisioner} or {ControllerOptions.BringYourOwn}.")
            .Validate(o => o.Workers > 0, "Controller:Workers must be at least 1.")
            .ValidateOnStart();
        services.AddOptions<LeaderElectionOptions>()
            .Bind(builder.Configuration.GetSection(LeaderElectionOptions.SectionName))
            .PostConfigure(o => o.LeaseName = string.IsNullOrEmpty(o.LeaseName) ? "kaito-controller" : o.LeaseName);
        services.AddOptions<InformerOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ControllerTelemetry>();
        services.AddClusterConnection<ControllerTelemetry>("controller", telemetry => telemetry.ActivitySource);

        services.AddSingleton(provider => NewInformer<Workspace>(provider));
        services.AddSingleton(provider =>
        {
            var informer = NewInformer<NodeClaim>(provider);
            informer.AddIndex(NodeClaims.WorkspaceIndex, claim => NodeClaims.WorkspaceKeys(claim.Metadata));
            return informer;
        });
        services.AddSingleton(provider => NewInformer<V1Node>(provider));
        services.AddSingleton(provider => NewInformer<V1StatefulSet>(provider));
        services.AddSingleton(provider => NewInformer<V1Service>(provider));
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<V1StatefulSet>>());
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<V1Service>>());
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<Workspace>>());
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<NodeClaim>>());
        services.AddSingleton<IInformer>(provider => provider.GetRequiredService<Informer<V1Node>>());

        services.AddSingleton<Expectations>();
        services.AddSingleton<WorkspaceReconciler>();
        services.AddSingleton(provider => new WorkQueue<ObjectReference>(
            provider.GetRequiredService<TimeProvider>(), TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5)));
        services.AddSingleton(provider =>
        {
            var telemetry = provider.GetRequiredService<ControllerTelemetry>();
            var runner = new ControllerRunner("workspace", provider.GetRequiredService<WorkspaceReconciler>(),
                provider.GetRequiredService<WorkQueue<ObjectReference>>(), provider.GetRequiredService<IOptions<ControllerOptions>>().Value.Workers,
                telemetry.ActivitySource, telemetry.Meter, provider.GetRequiredService<ILoggerFactory>().CreateLogger(ControllerTelemetry.Name));
            WireEvents(provider);
            return runner;
        });
        services.AddHostedService<CrdInstaller>();
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
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>().CreateLogger($"{ControllerTelemetry.Name}.Informer.{typeof(T).Name}"));

    /// <summary>Which workspace each change concerns: its own events, and those of its NodeClaims and nodes (by label).</summary>
    private static void WireEvents(IServiceProvider provider)
    {
        var queue = provider.GetRequiredService<WorkQueue<ObjectReference>>();
        var expectations = provider.GetRequiredService<Expectations>();
        provider.GetRequiredService<Informer<Workspace>>().Changed += change =>
            queue.Add(new ObjectReference(change.Item.Metadata.NamespaceProperty ?? "", change.Item.Metadata.Name));
        provider.GetRequiredService<Informer<NodeClaim>>().Changed += change =>
        {
            foreach (var key in NodeClaims.WorkspaceKeys(change.Item.Metadata))
            {
                var reference = new ObjectReference(key[..key.IndexOf('/', StringComparison.Ordinal)], key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]);
                if (change.Type == InformerEventType.Added)
                {
                    expectations.CreationObserved(reference);
                }

                queue.Add(reference);
            }
        };
        void Owner(V1ObjectMeta metadata)
        {
            if (metadata.Labels?.TryGetValue(Kaito.Api.Names.Labels.Workspace, out var name) == true && metadata.NamespaceProperty is { } ns)
            {
                queue.Add(new ObjectReference(ns, name));
            }
        }

        provider.GetRequiredService<Informer<V1StatefulSet>>().Changed += change => Owner(change.Item.Metadata);
        provider.GetRequiredService<Informer<V1Service>>().Changed += change => Owner(change.Item.Metadata);
        provider.GetRequiredService<Informer<V1Node>>().Changed += change =>
        {
            foreach (var key in NodeClaims.WorkspaceKeys(change.Item.Metadata))
            {
                queue.Add(new ObjectReference(key[..key.IndexOf('/', StringComparison.Ordinal)], key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]));
            }
        };
    }
}
