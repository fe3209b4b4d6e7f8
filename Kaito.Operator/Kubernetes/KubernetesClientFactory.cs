using k8s;

namespace Kaito.Operator.Kubernetes;

/// <summary>Builds the client configuration from <see cref="KubernetesOptions"/>.</summary>
public static class KubernetesClientFactory
{
    public static KubernetesClientConfiguration BuildConfiguration(KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        if (!string.IsNullOrWhiteSpace(options.Kubeconfig))
        {
            if (!File.Exists(options.Kubeconfig))
            {
                throw new InvalidOperationException(
                    $"Kubernetes:Kubeconfig names '{options.Kubeconfig}', which does not exist. " +
                    "Pass --kubeconfig <file> with a readable kubeconfig, or omit it to use KUBECONFIG or the in-cluster service account.");
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig, options.Context);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            var first = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0];
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(first, options.Context);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (File.Exists(home))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(home, options.Context);
        }

        throw new InvalidOperationException(
            "No Kubernetes cluster is configured: pass --kubeconfig <file>, set KUBECONFIG, or run inside a cluster. " +
            "For local development, `dotnet run --project Kaito.AppHost` starts Kaito.LocalCluster and wires it for you.");
    }
}
