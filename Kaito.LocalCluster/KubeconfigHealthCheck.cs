using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kaito.LocalCluster;

/// <summary>Ready once the kubeconfig is written, which is when clients can connect.</summary>
public sealed class KubeconfigHealthCheck(KubeconfigWriter writer) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(writer.WrittenPath is { } path
            ? HealthCheckResult.Healthy($"Serving {writer.Server}; kubeconfig at {path}")
            : HealthCheckResult.Unhealthy("The kubeconfig has not been written yet."));
}
