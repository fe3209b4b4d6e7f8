using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>Watch semantics: every change in order, resumption from a retained version, and 410 Gone past the window.</summary>
public sealed class WatchTests
{
    [Fact]
    public async Task AWatchThatAllowsBookmarksGetsThemWithTheCurrentRevision()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var client = cluster.Client;
        var list = await client.CoreV1.ListNamespacedConfigMapAsync("default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "before-bookmark" } }, "default");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        V1ConfigMap? bookmark = null;
        await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync(
                           "default", resourceVersion: list.Metadata.ResourceVersion, allowWatchBookmarks: true, cancellationToken: cancel.Token))
        {
            if (type == WatchEventType.Bookmark)
            {
                bookmark = item;
                break;
            }
        }

        Assert.NotNull(bookmark);
        var created = await client.CoreV1.ReadNamespacedConfigMapAsync("before-bookmark", "default");
        Assert.True(long.Parse(bookmark.Metadata.ResourceVersion, CultureInfo.InvariantCulture)
            >= long.Parse(created.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task AThousandCreatesWhileAWatchIsOpenAreAllSeenInOrder()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var client = cluster.Client;
        var list = await client.CoreV1.ListNamespacedConfigMapAsync("default");
        var seen = new List<(string Name, long Revision)>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync(
                               "default", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cancel.Token))
            {
                if (type == WatchEventType.Added)
                {
                    seen.Add((item.Metadata.Name, long.Parse(item.Metadata.ResourceVersion, CultureInfo.InvariantCulture)));
                    if (seen.Count == 1000)
                    {
                        return;
                    }
                }
            }
        }, cancel.Token);

        var names = Enumerable.Range(0, 1000).Select(i => $"map-{i:D4}").ToList();
        foreach (var batch in names.Chunk(50))
        {
            await Task.WhenAll(batch.Select(name => client.CoreV1.CreateNamespacedConfigMapAsync(
                new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name } }, "default", cancellationToken: cancel.Token)));
        }

        await watching;
        Assert.Equal(names.Order(), seen.Select(s => s.Name).Order());
        Assert.Equal(seen.Select(s => s.Revision).Order(), seen.Select(s => s.Revision));
    }

    [Fact]
    public async Task ResumingFromARetainedVersionMissesNothingAndAnExpiredOneIsGone()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:WatchHistory=50");
        var client = cluster.Client;
        var start = (await client.CoreV1.ListNamespacedConfigMapAsync("default")).Metadata.ResourceVersion;
        foreach (var i in Enumerable.Range(0, 20))
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"r-{i:D2}" } }, "default");
        }

        var resumed = new List<string>();
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await foreach (var (_, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: start, cancellationToken: cancel.Token))
            {
                resumed.Add(item.Metadata.Name);
                if (resumed.Count == 20)
                {
                    break;
                }
            }
        }

        foreach (var i in Enumerable.Range(20, 100))
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"r-{i:D3}" } }, "default");
        }

        // As from kube-apiserver: the watch opens (200), and its only event is an ERROR carrying the 410 Status.
        using var raw = RawApi.Create(cluster.Kubeconfig);
        using var response = await raw.GetAsync(new Uri($"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}", UriKind.Relative));
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"r-{i:D2}"), resumed);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var error = JsonDocument.Parse(Assert.Single(lines)).RootElement;
        Assert.Equal("ERROR", error.GetProperty("type").GetString());
        Assert.Equal(410, error.GetProperty("object").GetProperty("code").GetInt32());
        Assert.Equal("Expired", error.GetProperty("object").GetProperty("reason").GetString());
        Assert.StartsWith("too old resource version", error.GetProperty("object").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
