using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Api.Workspaces;
using Kaito.Controller.Webhooks;
using Kaito.Controller.Workspaces;
using Kaito.Operator.Hosting;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Controller;

public static class WorkspaceControllerExtensions
{
    /// <summary>The pod cache's index by workspace (<c>namespace/name</c>).</summary>
    public const string WorkspacePodsIndex = "workspace-pods";

    /// <summary>The controller's command-line switches.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--node-provisioner"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.NodeProvisioner)}",
        ["--cloud"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.Cloud)}",
        ["--install-crds"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.InstallCrds)}",
        ["--image-registry"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.ImageRegistry)}",
        ["--webhook-port"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Port)}",
        ["--register-webhook"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Register)}",
        ["--webhook-cert-dir"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.CertificateDirectory)}",
        ["--webhook-service"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Service)}",
        ["--webhook-listen-address"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.ListenAddress)}",
        ["--allowed-data-hosts"] = $"{ControllerOptions.SectionName}:{nameof(ControllerOptions.AllowedDataHosts)}",
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
        services.AddOptions<WebhookOptions>()
            .Bind(builder.Configuration.GetSection(WebhookOptions.SectionName))
            // --webhook-port alone turns the webhook on.
            .PostConfigure(o => o.Enabled |= builder.Configuration[$"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Port)}"] is not null)
            .Validate(o => o.Port is >= 0 and <= 65535, "Webhook:Port (--webhook-port) must be between 0 and 65535.")
            .Validate(o => o.Service is null || o.Service.Split('/').Length == 2, "Webhook:Service (--webhook-service) must be namespace/name.")
            .ValidateOnStart();
        services.AddSingleton<WorkspaceAdmission>();
        services.AddSingleton<WebhookServer>();
        services.AddHostedService(provider => provider.GetRequiredService<WebhookServer>());
        services.AddSingleton<ControllerTelemetry>();
        services.AddClusterConnection<ControllerTelemetry>("controller", telemetry => telemetry.ActivitySource);
        services.AddInformer<Workspace>(ControllerTelemetry.Name);
        services.AddInformer<NodeClaim>(ControllerTelemetry.Name,
            informer => informer.AddIndex(NodeClaims.WorkspaceIndex, claim => NodeClaims.WorkspaceKeys(claim.Metadata)));
        services.AddInformer<V1Node>(ControllerTelemetry.Name);
        services.AddInformer<V1StatefulSet>(ControllerTelemetry.Name);
        services.AddInformer<V1Service>(ControllerTelemetry.Name);
        services.AddInformer<V1Job>(ControllerTelemetry.Name);
        // Workspace pods only (they carry kaito.sh/workspace): why inference is not ready, without listing pods.
        services.AddInformer<V1Pod>(ControllerTelemetry.Name, informer =>
        {
            informer.LabelSelector = Kaito.Api.Names.Labels.Workspace;
            informer.AddIndex(WorkspacePodsIndex, pod => pod.Metadata.Labels?.TryGetValue(Kaito.Api.Names.Labels.Workspace, out var name) == true
                ? [$"{pod.Metadata.NamespaceProperty}/{name}"] : []);
        });
        services.AddSingleton<Expectations>();
        services.AddEventRecorder("workspace-controller");
        services.AddSingleton<WorkspaceReconciler>();
        services.AddHostedService<CrdInstaller>();
        services.AddOperatorHost(builder.Configuration, "kaito-controller", (provider, queue) =>
        {
            var telemetry = provider.GetRequiredService<ControllerTelemetry>();
            WireEvents(provider, queue);
            return new ControllerRunner("workspace", provider.GetRequiredService<WorkspaceReconciler>(), queue,
                provider.GetRequiredService<IOptions<ControllerOptions>>().Value.Workers,
                telemetry.ActivitySource, telemetry.Meter, provider.GetRequiredService<ILoggerFactory>().CreateLogger(ControllerTelemetry.Name));
        });
        return builder;
    }

    /// <summary>Which workspace each change concerns: its own events, and those of its NodeClaims and nodes (by label).</summary>
    private static void WireEvents(IServiceProvider provider, WorkQueue<ObjectReference> queue)
    {
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
        provider.GetRequiredService<Informer<V1Job>>().Changed += change => Owner(change.Item.Metadata);
        provider.GetRequiredService<Informer<V1Pod>>().Changed += change => Owner(change.Item.Metadata);
        provider.GetRequiredService<Informer<V1Node>>().Changed += change =>
        {
            foreach (var key in NodeClaims.WorkspaceKeys(change.Item.Metadata))
            {
                queue.Add(new ObjectReference(key[..key.IndexOf('/', StringComparison.Ordinal)], key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]));
            }
        };
    }
}
