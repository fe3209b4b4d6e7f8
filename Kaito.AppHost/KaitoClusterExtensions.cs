using Microsoft.Extensions.Configuration;

namespace Kaito.AppHost;

/// <summary>
/// Chooses and wires the cluster. Configuration (command line, environment <c>Kaito__…</c>, appsettings or user secrets):
/// <list type="bullet">
/// <item><c>Kaito:Kubeconfig</c> (<c>--kubeconfig</c>): a real cluster's kubeconfig; LocalCluster is not started.</item>
/// <item><c>Kaito:Context</c> (<c>--context</c>): a context in that file, or in <c>KUBECONFIG</c> / <c>~/.kube/config</c>
/// when no file is named; naming a context also means a real cluster.</item>
/// <item><c>Kaito:LocalCluster:Kubeconfig</c>: where LocalCluster writes its kubeconfig (default
/// <c>.kaito/local-cluster.kubeconfig</c> beside the AppHost project), for <c>kubectl --kubeconfig</c>.</item>
/// </list>
/// A <c>KUBECONFIG</c> variable alone does not switch away from LocalCluster, so a shell pointed at a shared cluster
/// never gets an operator started against it by accident.
/// </summary>
public static class KaitoClusterExtensions
{
    private static readonly Dictionary<string, string> s_switchMappings = new()
    {
        ["--kubeconfig"] = "Kaito:Kubeconfig",
        ["--context"] = "Kaito:Context",
        ["--model"] = "Kaito:Model",
        ["--allowed-data-hosts"] = "Kaito:AllowedDataHosts",
        ["--provider"] = "Kaito:Provider",
        ["--install-crds"] = "Kaito:InstallCrds",
        ["--subscription"] = "Kaito:Azure:SubscriptionId",
        ["--resource-group"] = "Kaito:Azure:ResourceGroup",
        ["--cluster"] = "Kaito:Azure:ClusterName",
        ["--image-registry"] = "Kaito:ImageRegistry",
        ["--images"] = "Kaito:Images",
        ["--image-base"] = "Kaito:ImageBase",
        ["--docker-config"] = "Kaito:DockerConfig",
        ["--model-registry"] = "Kaito:ModelRegistry",
    };

    public static IConfigurationBuilder AddKaitoCommandLine(this IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.AddCommandLine(args, s_switchMappings);
    }

    public static KaitoCluster AddKaitoCluster(this IDistributedApplicationBuilder builder, string localName)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var kubeconfig = builder.Configuration["Kaito:Kubeconfig"];
        var context = builder.Configuration["Kaito:Context"];
        if (!string.IsNullOrWhiteSpace(kubeconfig) || !string.IsNullOrWhiteSpace(context))
        {
            var file = string.IsNullOrWhiteSpace(kubeconfig) ? DefaultKubeconfig() : Path.GetFullPath(kubeconfig);
            if (!File.Exists(file))
            {
                throw new InvalidOperationException(
                    $"Kaito:Kubeconfig names '{file}', which does not exist. Pass --kubeconfig <file> for a real cluster, " +
                    "or omit it to run against LocalCluster.");
            }

            return new KaitoCluster(Local: null, file, string.IsNullOrWhiteSpace(context) ? null : context);
        }

        var localKubeconfig = Path.GetFullPath(
            builder.Configuration["Kaito:LocalCluster:Kubeconfig"] ?? Path.Combine(".kaito", "local-cluster.kubeconfig"),
            builder.AppHostDirectory);

        // A system node, as AKS's system pool or kind's node: where pods that are not a workspace's (the brief's curl) run.
        var local = builder.AddProject<Projects.Kaito_LocalCluster>(localName)
            .WithArgs("--kubeconfig", localKubeconfig, "--system-node", SystemNode)
            .WithHttpHealthCheck("/health", endpointName: "http");

        return new KaitoCluster(local, localKubeconfig, Context: null);
    }

    /// <summary>Points a control-plane service at the cluster; with LocalCluster it also waits for it to be ready.</summary>
    public static IResourceBuilder<ProjectResource> WithCluster(this IResourceBuilder<ProjectResource> service, KaitoCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(cluster);

        if (cluster.Local is { } local)
        {
            service.WithReference(local).WaitFor(local);
        }

        service.WithEnvironment("Kubernetes__Kubeconfig", cluster.Kubeconfig);
        if (cluster.Context is { } context)
        {
            service.WithEnvironment("Kubernetes__Context", context);
        }

        return service;
    }

    /// <summary>LocalCluster's untainted node without GPUs.</summary>
    public const string SystemNode = "local-cluster-system";

    private static string DefaultKubeconfig()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0];
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
    }
}
