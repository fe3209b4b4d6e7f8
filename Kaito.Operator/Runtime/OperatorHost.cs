using k8s;
using k8s.LeaderElection;
using Kaito.ServiceDefaults.Resilience;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Runtime;

/// <summary>
/// Runs a component's informers on every replica (warm caches make a take-over fast) and its controllers only while
/// this replica holds the leader Lease; losing the Lease stops the controllers until it is won again. An election that
/// fails (the API server is gone) is retried with jittered exponential backoff up to
/// <see cref="LeaderElectionOptions.MaxRetryBackoff"/>, and a failure that repeats is logged once a
/// <see cref="LeaderElectionOptions.FailureLogInterval"/>, so an outage costs neither CPU nor log volume.
/// </summary>
public sealed partial class OperatorHost(
    IKubernetes client,
    IEnumerable<IInformer> informers,
    IEnumerable<ControllerRunner> controllers,
    IOptions<LeaderElectionOptions> options,
    ILogger<OperatorHost> logger,
    TimeProvider? clock = null) : BackgroundService
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private volatile bool _leading;

    /// <summary>Whether this replica currently runs the controllers.</summary>
    public bool IsLeader => _leading;

    /// <summary>The Lease's holder as this replica last saw it (null before it first read the Lease).</summary>
    public string? ObservedLeader { get; private set; }

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
        elector.OnNewLeader += leader =>
        {
            ObservedLeader = leader;
            LogNewLeader(logger, settings.LeaseName, leader);
        };
        var backoff = new ExponentialBackoff(settings.RetryPeriod, settings.MaxRetryBackoff);
        var failures = new RepeatedFailureLog(_clock, settings.FailureLogInterval);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task? leading = null;
            string? failure = null;
            var started = _clock.GetTimestamp();
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
            catch (Exception ex) when (ex is HttpRequestException or k8s.Autorest.HttpOperationException or KubernetesException or IOException
                                           or System.Text.Json.JsonException or OperationCanceledException)
            {
                failure = ex.Message;
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

            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // A term that ended soon after it began (or never began) is a failure to back off from, not a reason to spin.
            if (failure is null && _clock.GetElapsedTime(started) >= settings.LeaseDuration)
            {
                backoff.Reset();
                failures.Reset();
                continue;
            }

            var delay = backoff.Next();
            if (failures.ShouldLog(out var suppressed))
            {
                LogElectionFailed(logger, settings.LeaseName, delay.TotalSeconds, suppressed, failure ?? "the lease could not be held");
            }

            await Task.Delay(delay, _clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            void Start()
            {
                LogStartedLeading(logger, settings.LeaseName, identity);
                backoff.Reset();
                failures.Reset();
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

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Leader election for {Lease} failed; trying again in {DelaySeconds:0.#} s ({Suppressed} more failures since the last report): {Reason}")]
    private static partial void LogElectionFailed(ILogger logger, string lease, double delaySeconds, int suppressed, string reason);
}
