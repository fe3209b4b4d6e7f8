using k8s;
using Kaito.Operator.Kubernetes;

namespace Kaito.Provisioner;

/// <summary>
/// Hosts the NodeClaim controller: connects to the cluster under a start-up span, then runs until shutdown.
/// </summary>
public sealed partial class NodeProvisionerService(
    IKubernetes client,
    ProvisionerTelemetry telemetry,
    ILogger<NodeProvisionerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using (var activity = telemetry.ActivitySource.StartActivity("provisioner.start"))
        {
            var version = await client.WaitForApiServerAsync(logger, stoppingToken);
            activity?.SetTag("k8s.server", client.BaseUri.ToString());
            activity?.SetTag("k8s.version", version.GitVersion);
            telemetry.Starts.Add(1);
            LogStarted(logger, client.BaseUri);
        }

        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node provisioner started against {Server}")]
    private static partial void LogStarted(ILogger logger, Uri server);
}
