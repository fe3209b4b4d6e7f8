using System.Diagnostics;
using System.Diagnostics.Metrics;
using k8s;
using Kaito.Operator.Runtime;
using Kaito.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kaito.Operator.Tests;

/// <summary>Two replicas against LocalCluster's Leases: one leads, and when it stops the other takes over.</summary>
public sealed class LeaderElectionTests
{
    [Fact]
    public async Task OnlyOneReplicaLeadsAndTheOtherTakesOverWhenItStops()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var options = Options.Create(new LeaderElectionOptions
        {
            LeaseName = "kaito-test",
            LeaseDuration = TimeSpan.FromSeconds(4),
            RenewDeadline = TimeSpan.FromSeconds(3),
            RetryPeriod = TimeSpan.FromMilliseconds(500),
        });
        using var first = Replica(cluster, options, "first");
        using var second = Replica(cluster, options, "second");
        await first.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => first.IsLeader, TimeSpan.FromSeconds(60));
        await second.StartAsync(CancellationToken.None);
        // Once the second replica has read the Lease and seen the first holding it, it must not lead.
        await Eventually.TrueAsync(() => second.ObservedLeader == "first", TimeSpan.FromSeconds(60));
        var bothLed = first.IsLeader && second.IsLeader;

        await first.StopAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => second.IsLeader, TimeSpan.FromSeconds(60));
        await second.StopAsync(CancellationToken.None);

        Assert.False(bothLed);
    }

    private static OperatorHost Replica(LocalClusterProcess cluster, IOptions<LeaderElectionOptions> options, string identity)
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        var queue = new WorkQueue<ObjectReference>(TimeProvider.System, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1));
        var runner = new ControllerRunner("idle", new Idle(), queue, 1, new ActivitySource("Kaito.Tests"), new Meter("Kaito.Tests"), NullLogger.Instance);
        var settings = Options.Create(new LeaderElectionOptions
        {
            LeaseName = options.Value.LeaseName,
            LeaseDuration = options.Value.LeaseDuration,
            RenewDeadline = options.Value.RenewDeadline,
            RetryPeriod = options.Value.RetryPeriod,
            Identity = identity,
        });
        return new OperatorHost(client, [], [runner], settings, NullLogger<OperatorHost>.Instance);
    }

    private sealed class Idle : IReconciler
    {
        public Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken) => Task.FromResult(ReconcileResult.Done);
    }
}
