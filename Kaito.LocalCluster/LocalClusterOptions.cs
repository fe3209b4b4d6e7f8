namespace Kaito.LocalCluster;

/// <summary>How LocalCluster listens and where it writes its kubeconfig.</summary>
public sealed class LocalClusterOptions
{
    public const string SectionName = "LocalCluster";

    /// <summary>
    /// The loopback port to serve the API on over TLS (<c>--port</c>); 0 picks a free one. When unset, the host's URLs
    /// (<c>ASPNETCORE_URLS</c>, set by Aspire) are used.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>
    /// The kubeconfig file to write once the server answers (<c>--kubeconfig</c>), so its appearance means ready.
    /// It is removed at shutdown.
    /// </summary>
    public string Kubeconfig { get; set; } = Path.Combine(".kaito", "local-cluster.kubeconfig");

    /// <summary>
    /// The bearer token clients must present (written into the kubeconfig). A random one is generated per run when empty,
    /// so another local user cannot drive the cluster through its loopback port.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>The cluster, context and user name written into the kubeconfig.</summary>
    public string ContextName { get; set; } = "kaito-local";

    /// <summary>
    /// A folder for an SQLite database (<c>--data-dir</c>) that keeps every acknowledged write across restarts; in
    /// memory when empty.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>How many recent changes watches can resume from; older resource versions get 410 Gone.</summary>
    public int WatchHistory { get; set; } = 10_000;

    /// <summary>The Kubernetes version LocalCluster reports; kubectl warns when its own is more than one minor away.</summary>
    public string KubernetesVersion { get; set; } = "v1.32.0";
}
