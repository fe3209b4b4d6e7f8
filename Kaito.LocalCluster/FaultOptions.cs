namespace Kaito.LocalCluster;

/// <summary>
/// Fault injection for tests of clients and controllers (all off by default): failed requests, added latency, and
/// watches that end early, as a loaded or restarting API server would.
/// </summary>
public sealed class FaultOptions
{
    public const string SectionName = "LocalCluster:Faults";

    /// <summary>The share of resource requests (0 to 1) answered with 500 InternalError.</summary>
    public double ErrorRate { get; set; }

    /// <summary>Delay added to every resource request.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>The verbs faults apply to (get, list, watch, create, update, patch, delete); all when empty.</summary>
    public IList<string> Verbs { get; } = [];

    /// <summary>Watches are closed after this long, however long the client asked for.</summary>
    public TimeSpan? WatchLifetime { get; set; }

    public bool Applies(string verb) => Verbs.Count == 0 || Verbs.Contains(verb, StringComparer.OrdinalIgnoreCase);
}
