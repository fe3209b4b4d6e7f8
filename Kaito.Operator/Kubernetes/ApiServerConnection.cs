using k8s;
using k8s.Models;
using Kaito.ServiceDefaults.Resilience;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Kubernetes;

/// <summary>
/// Waits for the API server at start-up. A control-plane component must not crash because the API server is late
/// (LocalCluster starting, a kind cluster booting, an AKS upgrade): it retries with jittered, capped backoff and logs
/// the wait once every 30 s.
/// </summary>
public static partial class ApiServerConnection
{
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromSeconds(30);

    public static async Task<VersionInfo> WaitForApiServerAsync(this IKubernetes client, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(logger);

        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(250), s_maxDelay);
        var failures = new RepeatedFailureLog(s_maxDelay);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var version = await client.Version.GetCodeAsync(cancellationToken);
                LogConnected(logger, client.BaseUri, version.GitVersion);
                return version;
            }
            catch (Exception ex) when (ex is HttpRequestException or k8s.Autorest.HttpOperationException
                                           || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var delay = backoff.Next();
                if (failures.ShouldLog(out _))
                {
                    LogWaiting(logger, client.BaseUri, attempt, delay.TotalSeconds, ex.Message);
                }

                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the Kubernetes API at {Server} ({Version})")]
    private static partial void LogConnected(ILogger logger, Uri server, string version);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Kubernetes API at {Server} is not reachable (attempt {Attempt}), retrying in {DelaySeconds:0.##} s: {Reason}")]
    private static partial void LogWaiting(ILogger logger, Uri server, int attempt, double delaySeconds, string reason);
}
