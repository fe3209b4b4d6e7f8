namespace Kaito.Operator.Runtime;

/// <summary>Leader election over a coordination.k8s.io Lease: only the holder reconciles.</summary>
public sealed class LeaderElectionOptions
{
    public const string SectionName = "LeaderElection";

    /// <summary>Off for a single replica that should reconcile at once (tests, local runs).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The Lease's namespace: by default the pod's own namespace in a cluster (as controller-runtime defaults it, so the
    /// release namespace's Role covers it), <c>kube-system</c> outside one.
    /// </summary>
    public string Namespace { get; set; } = PodNamespace() ?? "kube-system";

    /// <summary>The Lease's name; replicas of one component share it. Each component defaults its own.</summary>
    public string LeaseName { get; set; } = "";

    /// <summary>This replica's identity; the host name (the pod name in a cluster) when empty.</summary>
    public string? Identity { get; set; }

    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failed elections back off from <see cref="RetryPeriod"/>, doubling up to this.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A failure that keeps repeating is logged at most once per this interval.</summary>
    public TimeSpan FailureLogInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The namespace of the pod this runs in, from its service account's mount; null outside a cluster.</summary>
    private static string? PodNamespace()
    {
        const string Path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        return File.Exists(Path) && File.ReadAllText(Path).Trim() is { Length: > 0 } ns ? ns : null;
    }
}
