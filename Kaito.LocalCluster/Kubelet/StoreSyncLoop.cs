using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// Runs a level-based sync after every change to the resources it watches (coalesced: one pass may answer many
/// changes) and at least once per resync interval; a failed pass is reported and the next one tries again.
/// </summary>
internal sealed class StoreSyncLoop(ClusterStore store, IReadOnlyCollection<string> groupResources, TimeSpan resync) : IDisposable
{
    private readonly SemaphoreSlim _changed = new(0, 1);

    public async Task RunAsync(Action sync, Action<Exception> failed, CancellationToken stoppingToken)
    {
        store.Changed += Signal;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    sync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failed(ex);
                }

                await _changed.WaitAsync(resync, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
        finally
        {
            store.Changed -= Signal;
        }
    }

    public void Dispose() => _changed.Dispose();

    private void Signal(StoreEvent change)
    {
        if (!groupResources.Contains(change.GroupResource) || _changed.CurrentCount > 0)
        {
            return;
        }

        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // already signalled
        }
    }
}
