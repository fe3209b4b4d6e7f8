using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>With <c>--data-dir</c>, every acknowledged write survives a SIGKILL.</summary>
public sealed class PersistenceTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"kaito-local-cluster-data-{Guid.NewGuid():N}");

    [Fact]
    public async Task EveryAcknowledgedWriteSurvivesASigkillDuringAStreamOfWrites()
    {
        var acknowledged = new ConcurrentBag<string>();
        var first = await LocalClusterProcess.StartAsync("--data-dir", _data);
        (await first.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                var name = $"w{writer}-{i:D5}";
                try
                {
                    await first.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name } }, "default");
                    acknowledged.Add(name);
                }
                catch (HttpRequestException)
                {
                    return;
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                    return;
                }
            }
        })).ToList();

        while (acknowledged.Count < 200)
        {
            await Task.Delay(10);
        }

        first.Kill();
        await Task.WhenAll(writers);
        await first.DisposeAsync();

        await using var second = await LocalClusterProcess.StartAsync("--data-dir", _data);
        var stored = (await second.Client.CoreV1.ListNamespacedConfigMapAsync("default")).Items.Select(i => i.Metadata.Name).ToHashSet();
        var workspaces = await second.Kubectl.RunAsync("get", "workspaces", "-A");

        Assert.DoesNotContain(acknowledged, name => !stored.Contains(name));
        Assert.True(acknowledged.Count >= 200);
        Assert.Equal(0, workspaces.ExitCode);
        Assert.Contains("No resources found", workspaces.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResourceVersionsKeepIncreasingAcrossARestart()
    {
        string before;
        await using (var first = await LocalClusterProcess.StartAsync("--data-dir", _data))
        {
            before = (await first.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, "default")).Metadata.ResourceVersion;
        }

        await using var second = await LocalClusterProcess.StartAsync("--data-dir", _data);
        var after = (await second.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, "default")).Metadata.ResourceVersion;
        var kept = await second.Client.CoreV1.ReadNamespacedConfigMapAsync("a", "default");

        Assert.Equal(before, kept.Metadata.ResourceVersion);
        Assert.True(long.Parse(after, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(before, System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
