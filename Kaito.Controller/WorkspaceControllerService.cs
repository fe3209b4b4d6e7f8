using k8s;
using Kaito.Operator.Kubernetes;

namespace Kaito.Controller;

/// <summary>
/// Hosts the workspace controller: connects to the cluster under a start-up span, then runs until shutdown.
/// </summary>
public sealed partial class WorkspaceControllerService(
    IKubernetes client,
    ControllerTelemetry telemetry,
    ILogger<WorkspaceControllerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using (var activity = telemetry.ActivitySource.StartActivity("controller.start"))
        {
            var version = await client.WaitForApiServerAsync(logger, stoppingToken);
            activity?.SetTag("k8s.server", client.BaseUri.ToString());
            activity?.SetTag("k8s.version", version.GitVersion);
            telemetry.Starts.Add(1);
            LogStarted(logger, client.BaseUri);
        }

        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace controller started against {Server}")]
    private static partial void LogStarted(ILogger logger, Uri server);
}
