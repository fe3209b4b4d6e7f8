using System.Diagnostics;

namespace Kaito.Testing;

/// <summary>Polls until a condition holds, for state that other processes reach asynchronously.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Returns the probe's first non-null value; exceptions from the probe count as "not yet".</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan? timeout = null, Func<string>? context = null)
        where T : class
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < limit)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                last = ex;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"not reached in {limit.TotalSeconds:0} s{(last is null ? "" : $"; last error: {last.Message}")}{(context is null ? "" : "\n" + context())}");
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null) =>
        ValueAsync(() => Task.FromResult(condition() ? "yes" : null), timeout);
}
