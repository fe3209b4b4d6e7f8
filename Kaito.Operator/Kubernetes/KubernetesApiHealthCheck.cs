using k8s;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Kubernetes;

/// <summary>Readiness: the API server answers <c>/version</c> within the probe timeout.</summary>
public sealed class KubernetesApiHealthCheck(IKubernetes client, IOptions<KubernetesOptions> options) : IHealthCheck
{
    public const string Name = "kubernetes-api";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ProbeTimeout);
        try
        {
            var version = await client.Version.GetCodeAsync(timeout.Token);
            return HealthCheckResult.Healthy($"Kubernetes {version.GitVersion} at {client.BaseUri}");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or k8s.Autorest.HttpOperationException)
        {
            return HealthCheckResult.Unhealthy($"Kubernetes API at {client.BaseUri} is not reachable: {ex.Message}", ex);
        }
    }
}
