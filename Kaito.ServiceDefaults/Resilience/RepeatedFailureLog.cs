namespace Kaito.ServiceDefaults.Resilience;

/// <summary>
/// Lets a retry loop log a failure that keeps happening once per interval instead of once per attempt: the first
/// failure is logged, then at most one a interval with how many were not; a success resets it, so the next outage is
/// reported at once. Thread-safe.
/// </summary>
public sealed class RepeatedFailureLog(TimeProvider clock, TimeSpan interval)
{
    private readonly Lock _gate = new();
    private long? _lastLogged;
    private int _suppressed;

    public RepeatedFailureLog(TimeSpan interval)
        : this(TimeProvider.System, interval)
    {
    }

    /// <summary>
    /// Whether this failure should be logged; when it should, <paramref name="suppressed"/> says how many failures since
    /// the last logged one were not.
    /// </summary>
    public bool ShouldLog(out int suppressed)
    {
        lock (_gate)
        {
            var now = clock.GetTimestamp();
            if (_lastLogged is { } last && clock.GetElapsedTime(last, now) < interval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }

            _lastLogged = now;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }

    /// <summary>After a success: the next failure is logged at once.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _lastLogged = null;
            _suppressed = 0;
        }
    }
}
