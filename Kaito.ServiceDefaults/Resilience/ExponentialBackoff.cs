namespace Kaito.ServiceDefaults.Resilience;

/// <summary>
/// The delay before the next attempt of a retry loop: doubling from <c>initial</c> with each consecutive failure up to
/// <c>cap</c>, spread by ±<c>jitter</c> (a fraction) so that replicas retrying the same dead server do not do it in step,
/// as client-go's wait.Backoff does. Not thread-safe: one per loop.
/// </summary>
public sealed class ExponentialBackoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _cap;
    private readonly double _jitter;
    private readonly Random _random;

    public ExponentialBackoff(TimeSpan initial, TimeSpan cap, double jitter = 0.2, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, initial);
        ArgumentOutOfRangeException.ThrowIfNegative(jitter);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jitter, 1);
        _initial = initial;
        _cap = cap;
        _jitter = jitter;
        _random = random ?? Random.Shared;
    }

    /// <summary>Consecutive failures since the last <see cref="Reset"/>.</summary>
    public int Failures { get; private set; }

    /// <summary>Counts a failure and returns how long to wait before the next attempt.</summary>
    public TimeSpan Next()
    {
        var exponent = Math.Min(Failures, 40);
        Failures++;
        var delay = Math.Min(_initial.Ticks * Math.Pow(2, exponent), _cap.Ticks);
        var spread = 1 + (_jitter * ((2 * _random.NextDouble()) - 1));
        return TimeSpan.FromTicks((long)Math.Min(delay * spread, _cap.Ticks));
    }

    /// <summary>After a success: the next failure waits <c>initial</c> again.</summary>
    public void Reset() => Failures = 0;

    /// <summary>Counts a failure and waits its delay on <paramref name="clock"/>.</summary>
    public Task DelayAsync(TimeProvider clock, CancellationToken cancellationToken) => Task.Delay(Next(), clock, cancellationToken);
}
