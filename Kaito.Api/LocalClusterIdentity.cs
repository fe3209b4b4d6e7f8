namespace Kaito.Api;

/// <summary>How a client tells LocalCluster from any other Kubernetes API server.</summary>
public static class LocalClusterIdentity
{
    /// <summary>The <c>gitCommit</c> LocalCluster's <c>/version</c> reports (a real kube-apiserver reports its commit's hash).</summary>
    public const string GitCommit = "kaito-localcluster";
}
