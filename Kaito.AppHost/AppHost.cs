using Kaito.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
builder.Configuration.AddKaitoCommandLine(args);

// The cluster: LocalCluster, unless a kubeconfig or context names a real one (kind, AKS).
var cluster = builder.AddKaitoCluster("local-cluster");

// Control plane.
var controller = builder.AddProject<Projects.Kaito_Controller>("controller")
    .WithHttpHealthCheck("/health")
    .WithCluster(cluster)
    // Kaito's CRDs: installed into LocalCluster; into a real cluster only when asked (--install-crds true), otherwise the
    // controller checks them and names what to apply.
    .WithEnvironment("Controller__InstallCrds", cluster.IsLocal || string.Equals(builder.Configuration["Kaito:InstallCrds"], "true", StringComparison.OrdinalIgnoreCase) ? "true" : "false");
if (cluster.IsLocal)
{
    // LocalCluster calls the admission webhook on loopback; a kind or AKS API server reaches it through a Service.
    controller.WithEnvironment("Webhook__Port", "0").WithEnvironment("Webhook__Register", "true");
}

// Tuning data from a server on this machine — the example datasets at localhost:5002 (datasets) or one of your own:
// allowed only when named, e.g. --allowed-data-hosts localhost:5002; the webhook and the downloader refuse non-public
// addresses otherwise.
if (builder.Configuration["Kaito:AllowedDataHosts"] is { Length: > 0 } allowedDataHosts)
{
    controller.WithEnvironment("Controller__AllowedDataHosts", allowedDataHosts);
}

// With a real cluster: the workspace pods' images, built and pushed to --image-registry before the controller starts,
// and model images from --model-registry when given.
controller.WithComponentImages(builder, cluster);
if (!cluster.IsLocal && builder.Configuration["Kaito:ModelRegistry"] is { Length: > 0 } modelRegistry)
{
    controller.WithEnvironment("Controller__ModelRegistry", modelRegistry);
}

// Model images for LocalCluster's pods: a local registry with the tiny model pushed to it.
builder.AddLocalModelImages(cluster, controller);
builder.AddLocalDatasets(cluster);

// Its node provider follows the cluster: local for LocalCluster, existing or azure for a real one.
builder.AddProject<Projects.Kaito_Provisioner>("provisioner")
    .WithHttpHealthCheck("/health")
    .WithCluster(cluster)
    .WithNodeProvider(builder, cluster);

// Data plane.
builder.AddProject<Projects.Kaito_InferenceServer>("inference-server")
    .WithLocalModel()
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.Kaito_Tuner>("tuner")
    .WithExplicitStart();

// The deployment: `--operation publish --step publish-kubernetes --output-path deploy/kubernetes` writes the chart.
builder.AddKubernetesPublisher();

builder.Build().Run();
