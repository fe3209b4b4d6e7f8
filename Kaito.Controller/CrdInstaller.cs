using k8s;
using Kaito.ServiceDefaults.Resilience;
using k8s.Autorest;
using Kaito.Api.Crds;
using Kaito.Operator.Client;
using Microsoft.Extensions.Options;

namespace Kaito.Controller;

/// <summary>
/// With <c>Controller:InstallCrds</c> (LocalCluster, or <c>--install-crds true</c>), creates or updates Kaito's CRDs
/// before the informers need them. Otherwise (a cluster where they are deployed with the controller) it checks them:
/// missing, or older than this controller's (a version it serves is not there), is said in one line — naming what
/// to apply — and checked again with back-off until they are right, while the informers wait for them.
/// </summary>
public sealed partial class CrdInstaller(ObjectClient client, IOptions<ControllerOptions> options, ILogger<CrdInstaller> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _checking;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.InstallCrds)
        {
            _checking = Task.Run(() => CheckUntilPresentAsync(_stopping.Token), CancellationToken.None);
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

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_checking is not null)
        {
            await _checking.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task CheckUntilPresentAsync(CancellationToken cancellationToken)
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var failures = new RepeatedFailureLog(TimeSpan.FromMinutes(1));
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var problems = new List<string>();
                foreach (var ours in EmbeddedCrds.All())
                {
                    var theirs = await client.GetAsync<k8s.Models.V1CustomResourceDefinition>(null, ours.Metadata.Name, cancellationToken);
                    var missingVersions = ours.Spec.Versions.Select(v => v.Name).Except(theirs?.Spec?.Versions?.Select(v => v.Name) ?? []).ToList();
                    if (theirs is null)
                    {
                        problems.Add($"{ours.Metadata.Name} is missing");
                    }
                    else if (missingVersions.Count > 0)
                    {
                        problems.Add($"{ours.Metadata.Name} is older than this controller's (no {string.Join(", ", missingVersions)})");
                    }
                }

                if (problems.Count == 0)
                {
                    LogCrdsPresent(logger);
                    return;
                }

                if (failures.ShouldLog(out _))
                {
                    LogCrdsWrong(logger, string.Join("; ", problems));
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or HttpOperationException)
            {
                // the API server is not reachable yet; the cluster connection says so
            }

            try
            {
                await backoff.DelayAsync(TimeProvider.System, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Kaito's CRDs are not right in this cluster: {Problems}. Apply them with kubectl apply -f deploy/crds/ (or start the controller with --install-crds true); checking again with back-off")]
    private static partial void LogCrdsWrong(ILogger logger, string problems);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kaito's CRDs are present")]
    private static partial void LogCrdsPresent(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "CRD {Crd} installed")]
    private static partial void LogInstalled(ILogger logger, string crd);
}
