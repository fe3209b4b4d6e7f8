namespace Kaito.Operator.Kubernetes;

/// <summary>Which cluster a Kaito service talks to.</summary>
public sealed class KubernetesOptions
{
    public const string SectionName = "Kubernetes";

    /// <summary>
    /// A kubeconfig file (the <c>--kubeconfig</c> switch). When empty: <c>KUBECONFIG</c>, then the in-cluster service
    /// account, then <c>~/.kube/config</c>, in the order controller-runtime uses.
    /// </summary>
    public string? Kubeconfig { get; set; }

    /// <summary>A context in the kubeconfig (the <c>--context</c> switch); the file's current context when empty.</summary>
    public string? Context { get; set; }

    /// <summary>How long one API-server probe may take before the health check reports unhealthy.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
