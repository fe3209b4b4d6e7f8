namespace Kaito.Operator.Runtime;

/// <summary>
/// The controller work queue: a key is queued at most once however often it is added; a key being processed is
/// never handed to a second worker — adds meanwhile queue it again once the first worker is done; failures back off
/// per key (doubling from <c>baseDelay</c> up to <c>maxDelay</c>); delayed adds wait on the given clock.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "The name controller authors know from client-go.")]
public sealed class WorkQueue<TKey>(TimeProvider clock, TimeSpan baseDelay, TimeSpan maxDelay) : IDisposable
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>Keys waiting for a worker.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key) || _processing.Contains(key))
            {
                return;
            }

            _queue.Enqueue(key);
        }

        _available.Release();
    }

    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        _ = Task.Delay(delay, clock, _shutdown.Token).ContinueWith(
            _ => Add(key), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>Adds after this key's backoff, which doubles with each consecutive failure.</summary>
    public void AddRateLimited(TKey key) => AddAfter(key, NextBackoff(key));

    /// <summary>Forgets the key's failures: its next failure backs off from the base delay again.</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
        }
    }

    public TimeSpan NextBackoff(TKey key)
    {
        lock (_gate)
        {
            var failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            var delay = baseDelay.Ticks * Math.Pow(2, Math.Min(failures, 40));
            return TimeSpan.FromTicks((long)Math.Min(delay, maxDelay.Ticks));
        }
    }

    /// <summary>Waits for a key and marks it as being processed; call <see cref="Done"/> when finished.</summary>
    public async ValueTask<TKey> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _available.WaitAsync(cancellationToken);
            lock (_gate)
            {
                if (_queue.TryDequeue(out var key))
                {
                    _dirty.Remove(key);
                    _processing.Add(key);
                    return key;
                }
            }
        }
    }

    public void Done(TKey key)
    {
        var requeue = false;
        lock (_gate)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key))
            {
                _queue.Enqueue(key);
                requeue = true;
            }
        }

        if (requeue)
        {
            _available.Release();
        }
    }

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
        _available.Dispose();
    }
}
