using Kaito.Api.NodeClaims;
using Kaito.Operator.Client;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Options;

namespace Kaito.Provisioner.Azure;

/// <summary>
/// Deletes KAITO-created agent pools that no NodeClaim owns (a claim deleted while the provisioner was down, a create
/// that outlived its claim), every <see cref="AzureOptions.GarbageCollectionInterval"/>, on the leader only, once the
/// NodeClaim cache is synced so a slow start never reads as "no claims".
/// </summary>
public sealed partial class OrphanPoolCollector(
    AgentPoolProvider pools,
    ObjectCache cache,
    OperatorHost host,
    IOptions<AzureOptions> options,
    TimeProvider clock,
    ILogger<OrphanPoolCollector> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.GarbageCollectionInterval, clock);
        do
        {
            if (!host.IsLeader || !cache.Of<NodeClaim>().HasSynced)
            {
                continue;
            }

            try
            {
                var owned = cache.List<NodeClaim>().Select(c => c.Metadata.Name).ToHashSet(StringComparer.Ordinal);
                await pools.CollectOrphansAsync(owned, clock.GetUtcNow().UtcDateTime, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever ARM (or a gateway in front of it) answered, the next interval tries again: a background loop
                // that dies leaves orphaned GPU pools billing for ever.
                LogFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for orphan agent pools failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
