namespace Kaito.Operator.Runtime;

/// <summary>How an informer lists and watches.</summary>
public sealed class InformerOptions
{
    /// <summary>How long one watch request may stay open before the informer opens the next one.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often every cached object is delivered again as an update (a safety net for missed work).</summary>
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Page size of list requests.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>First delay before reconnecting after a failure; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A failure that keeps repeating is logged at most once per this interval.</summary>
    public TimeSpan FailureLogInterval { get; set; } = TimeSpan.FromSeconds(30);
}
