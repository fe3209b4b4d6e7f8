namespace Kaito.LocalCluster.Simulation;

/// <summary>How LocalCluster's simulated kubelet, scheduler and workload controllers behave.</summary>
public sealed class SimulationOptions
{
    public const string SectionName = "LocalCluster:Simulation";

    /// <summary>Turns the simulated controllers off: objects are stored and served, nothing acts on them.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a scheduled pod stays Pending before it runs (image pull and container start).</summary>
    public TimeSpan PodStartDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a running pod takes to become Ready (its probes passing).</summary>
    public TimeSpan PodReadyDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a Job's pod runs before it succeeds. A Job annotated <c>localcluster.kaito.sh/outcome: Failed</c> fails
    /// instead (message from <c>localcluster.kaito.sh/message</c>); <c>Running</c> keeps it running until changed.
    /// </summary>
    public TimeSpan JobDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the controllers look again when nothing changed (timers, delays).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A YAML file of Node manifests created at start (<c>--gpu-nodes</c>).</summary>
    public string? NodesFile { get; set; }

    /// <summary>
    /// A Node of this name created at start with the machine's CPUs and memory, no GPU and no taint (<c>--system-node</c>):
    /// where pods that are not a workspace's run — the brief's <c>kubectl run curl</c> — as on an AKS cluster's system
    /// pool or kind's single node. None when empty.
    /// </summary>
    public string? SystemNode { get; set; }
}
