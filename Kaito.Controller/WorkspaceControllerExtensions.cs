using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Api.Workspaces;
using Kaito.Controller.Webhooks;
using Kaito.Controller.Workspaces;
using Kaito.Controller.Workspaces.Nodes;
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
        ["--webhook-cert-secret"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.CertificateSecret)}",
        ["--webhook-service"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Service)}",
        ["--webhook-service-port"] = $"{WebhookOptions.SectionName}:{nameof(WebhookOptions.ServicePort)}",
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
        services.AddSingleton<Expectations>();
        services.AddEventRecorder("workspace-controller");
        services.AddSingleton<RevisionSync>();
        services.AddSingleton<InferenceDeployer>();
        services.AddSingleton<TuningDeployer>();
        if (builder.Configuration.GetSection(ControllerOptions.SectionName).Get<ControllerOptions>()?.AutoProvisioning ?? true)
        {
            services.AddSingleton<INodeProvisioner, NodeClaimProvisioner>();
        }
        else
        {
            services.AddSingleton<INodeProvisioner, BringYourOwnNodes>();
        }

        var networkPolicies = builder.Configuration.GetSection(ControllerOptions.SectionName).Get<ControllerOptions>()?.NetworkPolicies ?? true;
        services.AddController<Workspace, WorkspaceReconciler, ControllerTelemetry>("workspace", controller => (networkPolicies ? controller.Owns<V1NetworkPolicy>() : controller)
            .Owns<V1StatefulSet>()
            .Owns<V1Service>()
            .Owns<V1Job>()
            .Watches<NodeClaim>(ClaimChanged, informer => informer.AddIndex(NodeClaims.WorkspaceIndex, c => NodeClaims.WorkspaceOf(c.Metadata).Select(k => k.ToString())))
            .Watches<V1Node>(node => NodeClaims.WorkspaceOf(node.Metadata))
            // Workspace pods only (they carry kaito.sh/workspace): why inference is not ready, without listing pods.
            .Watches<V1Pod>(pod => WorkspaceOfPod(pod.Metadata), informer =>
            {
                informer.LabelSelector = Kaito.Api.Names.Labels.Workspace;
                informer.AddIndex(WorkspacePodsIndex, pod => WorkspaceOfPod(pod.Metadata).Select(k => k.ToString()));
            })
            .WithWorkers(provider => provider.GetRequiredService<IOptions<ControllerOptions>>().Value.Workers));
        services.AddHostedService<CrdInstaller>();
        services.AddOperatorHost(builder.Configuration, "kaito-controller");
        return builder;
    }

    /// <summary>A NodeClaim's workspace; a claim seen for the first time settles one expected creation.</summary>
    private static IEnumerable<ObjectReference> ClaimChanged(IServiceProvider provider, InformerEvent<NodeClaim> change)
    {
        var keys = NodeClaims.WorkspaceOf(change.Item.Metadata).ToList();
        if (change.Type == InformerEventType.Added)
        {
            var expectations = provider.GetRequiredService<Expectations>();
            keys.ForEach(expectations.CreationObserved);
        }

        return keys;
    }

    /// <summary>The workspace a pod serves or tunes for (its <c>kaito.sh/workspace</c> label, in its namespace).</summary>
    private static IEnumerable<ObjectReference> WorkspaceOfPod(V1ObjectMeta metadata) =>
        metadata.Labels?.TryGetValue(Kaito.Api.Names.Labels.Workspace, out var name) == true && metadata.NamespaceProperty is { } ns
            ? [new ObjectReference(ns, name)]
            : [];
}
