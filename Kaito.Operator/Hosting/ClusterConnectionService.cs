using System.Diagnostics;
using k8s;
using Kaito.Operator.Kubernetes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kaito.Operator.Hosting;

/// <summary>
/// Connects a control-plane component to its cluster at start-up, under a <c>&lt;component&gt;.start</c> span of the
/// component's own <see cref="ActivitySource"/> and logging under the same name, then stays up until shutdown.
/// </summary>
public sealed partial class ClusterConnectionService(
    IKubernetes client,
    ActivitySource activitySource,
    string component,
    ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using (var activity = activitySource.StartActivity($"{component}.start"))
        {
            var version = await client.WaitForApiServerAsync(logger, stoppingToken);
            activity?.SetTag("k8s.server", client.BaseUri.ToString());
            activity?.SetTag("k8s.version", version.GitVersion);
            LogStarted(logger, component, client.BaseUri);
        }

        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Component} started against {Server}")]
    private static partial void LogStarted(ILogger logger, string component, Uri server);
}
