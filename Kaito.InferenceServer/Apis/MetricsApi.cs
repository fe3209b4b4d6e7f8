using Kaito.InferenceServer.Telemetry;

namespace Kaito.InferenceServer.Apis;

/// <summary><c>GET /metrics</c>: Prometheus text with vLLM-compatible names.</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/metrics", (InferenceMetrics metrics) =>
            TypedResults.Text(metrics.Registry.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        return endpoints;
    }
}
