using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Kaito.ServiceDefaults;

/// <summary>
/// OpenTelemetry for Kaito services: logs, metrics and traces, exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the Aspire dashboard in development, a collector in a cluster).
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Every component's <c>ActivitySource</c> and <c>Meter</c> is named <c>Kaito.&lt;Component&gt;</c>.</summary>
    public const string KaitoSourcesWildcard = "Kaito.*";

    private static readonly string[] s_probePaths = [HealthEndpoints.HealthPath, HealthEndpoints.AlivePath];

    public static TBuilder ConfigureKaitoTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(KaitoSourcesWildcard))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(KaitoSourcesWildcard)
                .AddAspNetCoreInstrumentation(aspnet =>
                    // Kubelet and Aspire poll the probes every few seconds; their spans would drown the real ones.
                    aspnet.Filter = context => !IsProbe(context.Request.Path))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    private static bool IsProbe(PathString path) =>
        s_probePaths.Any(probe => path.StartsWithSegments(probe, StringComparison.OrdinalIgnoreCase));
}
