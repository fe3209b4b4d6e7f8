using Kaito.InferenceServer.Telemetry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Kaito.InferenceServer;

/// <summary>Reports, under a start-up span, where the server listens.</summary>
public sealed partial class InferenceStartup(
    IServer server,
    IHostApplicationLifetime lifetime,
    InferenceTelemetry telemetry,
    ILogger<InferenceStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            using var activity = telemetry.ActivitySource.StartActivity("inference-server.start");
            var addresses = string.Join(", ", server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
            activity?.SetTag("server.addresses", addresses);
            LogListening(logger, addresses);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Inference server listening on {Addresses}")]
    private static partial void LogListening(ILogger logger, string addresses);
}
