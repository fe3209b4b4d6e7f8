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
    /// A folder for an SQLite database (<c>--data-dir</c>) that keeps every acknowledged write across restarts, and the
    /// cluster's CA, serving certificate and token (under <c>pki/</c>), so a kubeconfig stays valid across restarts; in
    /// memory when empty. It holds Secrets: it is made readable by its owner only.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// A file that every authorization decision about a service account is appended to (<c>--audit-log</c>), as
    /// kube-apiserver's audit log (audit.k8s.io/v1 Events, Metadata level); none when empty.
    /// </summary>
    public string? AuditLog { get; set; }

    /// <summary>Where the CA, certificate and token are kept, when there is a data directory.</summary>
    public string? PkiDirectory => string.IsNullOrWhiteSpace(DataDirectory) ? null : Path.Combine(Path.GetFullPath(DataDirectory), "pki");

    /// <summary>How many recent changes watches can resume from; older resource versions get 410 Gone.</summary>
    public int WatchHistory { get; set; } = 10_000;

    /// <summary>
    /// How many changes a watch may have waiting for its client beyond its initial replay; a client that falls further
    /// behind has its watch closed and resumes from its last revision.
    /// </summary>
    public int WatchBuffer { get; set; } = 10_000;

    /// <summary>The Kubernetes version LocalCluster reports; kubectl warns when its own is more than one minor away.</summary>
    public string KubernetesVersion { get; set; } = "v1.32.0";
}
