using k8s;
using Kaito.ServiceDefaults.Resilience;
using k8s.Autorest;
using Kaito.Api.Crds;
using Kaito.Operator.Client;
using Microsoft.Extensions.Options;

namespace Kaito.Controller;

/// <summary>
/// With <c>Controller:InstallCrds</c> (local development), creates or updates Kaito's CRDs before the informers need
/// them; in a cluster they are deployed with the controller and this does nothing.
/// </summary>
public sealed partial class CrdInstaller(ObjectClient client, IOptions<ControllerOptions> options, ILogger<CrdInstaller> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.InstallCrds)
        {
            return;
        }

        foreach (var definition in EmbeddedCrds.All())
        {
            // the API server may still be starting: 30 tries over about three minutes
            var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await client.CreateOrReplaceAsync(definition, cancellationToken);
                    break;
                }
                catch (Exception ex) when (ex is HttpRequestException or HttpOperationException or InvalidOperationException && attempt < 30)
                {
                    // the API server may still be starting
                    await backoff.DelayAsync(TimeProvider.System, cancellationToken);
                }
            }

            LogInstalled(logger, definition.Metadata.Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "CRD {Crd} installed")]
    private static partial void LogInstalled(ILogger logger, string crd);
}
