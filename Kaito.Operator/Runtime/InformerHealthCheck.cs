using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kaito.Operator.Runtime;

/// <summary>
/// Readiness: every informer has listed once (a controller acting on an empty cache would create duplicates).
/// Liveness (<see cref="Liveness"/>): every informer heard from the API server recently; a stuck watch loop restarts the pod.
/// </summary>
public sealed class InformerHealthCheck(IEnumerable<IInformer> informers) : IHealthCheck
{
    public const string Readiness = "informers-synced";
    public const string Liveness = "informers-alive";

    /// <summary>How long an informer may go without a list, an event or a bookmark before the process is unhealthy.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromMinutes(12);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Registration.Name == Liveness)
        {
            var stuck = informers.Where(i => i.SinceLastProgress > Silence).Select(i => i.Kind.ToString()).ToList();
            return Task.FromResult(stuck.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"no progress from the API server for {Silence} on {string.Join(", ", stuck)}"));
        }

        var waiting = informers.Where(i => !i.HasSynced).Select(i => i.Kind.ToString()).ToList();
        return Task.FromResult(waiting.Count == 0
            ? HealthCheckResult.Healthy($"{informers.Count()} caches synced")
            : HealthCheckResult.Unhealthy($"waiting for the first list of {string.Join(", ", waiting)}"));
    }
}
