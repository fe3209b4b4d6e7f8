namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// LocalCluster's kubelet: which images it runs as real processes on this machine, and where pods keep their files.
/// A pod whose every container it can run runs for real; any other pod stays simulated and says so.
/// </summary>
public sealed class KubeletOptions
{
    public const string SectionName = "LocalCluster:Kubelet";

    /// <summary>Runs pods as processes; when off every pod is simulated.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Kaito's own images, by repository name (the image reference's last path segment, whatever its registry and tag:
    /// <c>kaito-inference-server</c>, <c>kaito-tuner</c>, …), each mapped to the locally built component that stands for
    /// the image's entrypoint: a .NET assembly (run with the host's <c>dotnet</c>) or an executable. The container's
    /// <c>command</c>, when it has one, replaces the entrypoint as it would the image's.
    /// </summary>
    public Dictionary<string, string> Components { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Images from a registry on this machine (<c>localhost:5001/…</c>, 127.0.0.0/8, ::1) are pulled and run from their
    /// own root file system — Kaito's images as <c>deploy/images/build-images.sh</c> builds them, or any other — unless
    /// <see cref="Components"/> names a stand-in for the repository. Off: such images are resolved as any other.
    /// </summary>
    public bool PullImages { get; set; } = true;

    /// <summary>The most one image may unpack to on the node (its layers' files together).</summary>
    public long MaxImageBytes { get; set; } = 16L * 1024 * 1024 * 1024;

    /// <summary>The most files, folders and links one image may unpack.</summary>
    public long MaxImageEntries { get; set; } = 1_000_000;

    /// <summary>
    /// Where pod sandboxes live (volumes, logs, termination messages): <c>&lt;data-dir&gt;/kubelet</c> with a data
    /// directory, else a per-run folder under the temporary directory that is removed at shutdown.
    /// </summary>
    public string? RootDirectory { get; set; }

    /// <summary>Environment variables passed from LocalCluster to Kaito components (telemetry endpoints, so pods' traces reach the same dashboard).</summary>
    public IReadOnlyList<string> InheritedEnvironment { get; set; } =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_CERTIFICATE"];

    /// <summary>The first wait before restarting a crashed container; doubled on every crash up to <see cref="MaxRestartBackOff"/> (kubelet: 10 s, 5 min).</summary>
    public TimeSpan RestartBackOff { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan MaxRestartBackOff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often mounted configMaps and Secrets are compared with their source and rewritten (kubelet's sync period).</summary>
    public TimeSpan VolumeSyncInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most of a container's log kept per run; older lines are dropped, as the kubelet rotates logs.</summary>
    public long MaxLogBytes { get; set; } = 10 * 1024 * 1024;
}
