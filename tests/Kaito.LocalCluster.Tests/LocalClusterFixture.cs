using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>One LocalCluster process with Kaito's CRDs installed, shared by a test class.</summary>
public sealed class LocalClusterFixture : IAsyncLifetime
{
    public LocalClusterProcess Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalClusterProcess.StartAsync();
        (await Cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
