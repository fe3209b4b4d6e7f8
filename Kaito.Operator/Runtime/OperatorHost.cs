using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Runtime;

/// <summary>
/// Runs a component's informers on every replica (warm caches make a take-over fast) and its controllers only while
/// this replica holds the leader Lease; losing the Lease stops the controllers until it is won again.
/// </summary>
public sealed partial class OperatorHost(
    IKubernetes client,
    IEnumerable<IInformer> informers,
    IEnumerable<ControllerRunner> controllers,
    IOptions<LeaderElectionOptions> options,
    ILogger<OperatorHost> logger) : BackgroundService
{
    private volatile bool _leading;

    /// <summary>Whether this replica currently runs the controllers.</summary>
    public bool IsLeader => _leading;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var caches = Task.WhenAll(informers.Select(i => i.RunAsync(stoppingToken)));
        var settings = options.Value;
        if (!settings.Enabled)
        {
            await LeadAsync(stoppingToken);
            await caches;
            return;
        }

        var identity = string.IsNullOrEmpty(settings.Identity) ? Environment.MachineName + "-" + Environment.ProcessId : settings.Identity;
        var elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(client, settings.Namespace, settings.LeaseName, identity))
        {
            LeaseDuration = settings.LeaseDuration,
            RenewDeadline = settings.RenewDeadline,
            RetryPeriod = settings.RetryPeriod,
        });
        elector.OnNewLeader += leader => LogNewLeader(logger, settings.LeaseName, leader);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task? leading = null;
            elector.OnStartedLeading += Start;
            elector.OnStoppedLeading += Stop;
            try
            {
                await elector.RunUntilLeadershipLostAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // shutting down
            }
            catch (Exception ex) when (ex is HttpRequestException or k8s.Autorest.HttpOperationException)
            {
                LogElectionFailed(logger, settings.LeaseName, ex.Message);
            }
            finally
            {
                elector.OnStartedLeading -= Start;
                elector.OnStoppedLeading -= Stop;
                await term.CancelAsync();
                if (leading is not null)
                {
                    await leading;
                }
            }

            void Start()
            {
                LogStartedLeading(logger, settings.LeaseName, identity);
                leading = LeadAsync(term.Token);
            }

            void Stop() => term.Cancel();
        }

        await caches;
    }

    private async Task LeadAsync(CancellationToken cancellationToken)
    {
        _leading = true;
        try
        {
            await Task.WhenAll(controllers.Select(c => c.RunAsync(cancellationToken)));
        }
        finally
        {
            _leading = false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {Lease} acquired by {Identity}: controllers start")]
    private static partial void LogStartedLeading(ILogger logger, string lease, string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {Lease} is held by {Leader}")]
    private static partial void LogNewLeader(ILogger logger, string lease, string leader);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leader election for {Lease} failed; trying again: {Reason}")]
    private static partial void LogElectionFailed(ILogger logger, string lease, string reason);
}
