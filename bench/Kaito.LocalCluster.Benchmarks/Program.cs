using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Kaito.Testing;

// Usage: dotnet run -c Release --project bench/Kaito.LocalCluster.Benchmarks [-- <objects> <concurrency>]
var objects = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
Console.WriteLine($"LocalCluster API benchmark: {objects} ConfigMaps, {concurrency} concurrent clients, KubernetesClient over HTTPS");
Console.WriteLine();

var memory = await Measure.RunAsync("in memory", [], objects, concurrency);
var dataDirectory = Path.Combine(Path.GetTempPath(), $"kaito-bench-{Guid.NewGuid():N}");
var durable = await Measure.RunAsync("--data-dir", ["--data-dir", dataDirectory], objects, concurrency);
Directory.Delete(dataDirectory, recursive: true);

Console.WriteLine($"{"operation",-22} {"in memory",14} {"--data-dir",14} {"ratio",8}");
foreach (var (name, value) in memory)
{
    var other = durable[name];
    Console.WriteLine($"{name,-22} {value,14:0.0} {other,14:0.0} {other / value,8:0.00}");
}

internal static class Measure
{
    public static async Task<Dictionary<string, double>> RunAsync(string label, string[] arguments, int objects, int concurrency)
    {
        await using var cluster = await LocalClusterProcess.StartAsync(arguments);
        var client = cluster.Client;
        var results = new Dictionary<string, double>();
        var names = Enumerable.Range(0, objects).Select(i => $"bench-{i:D6}").ToList();

        // watch latency: time from a create's response to its event on an open watch
        var seen = new Dictionary<string, long>();
        var list = await client.CoreV1.ListNamespacedConfigMapAsync("default");
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: stop.Token))
                {
                    if (type == WatchEventType.Added)
                    {
                        lock (seen)
                        {
                            seen[item.Metadata.Name] = Stopwatch.GetTimestamp();
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // done
            }
        });

        var acknowledged = new Dictionary<string, long>();
        var createLatencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (name, ct) =>
        {
            var start = Stopwatch.GetTimestamp();
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["k"] = name } }, "default", cancellationToken: ct);
            var end = Stopwatch.GetTimestamp();
            lock (acknowledged)
            {
                acknowledged[name] = end;
                createLatencies.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
            }
        });
        results["creates/s"] = objects / clock.Elapsed.TotalSeconds;
        results["create p50 ms"] = Percentile(createLatencies, 0.5);
        results["create p99 ms"] = Percentile(createLatencies, 0.99);

        while (true)
        {
            lock (seen)
            {
                if (seen.Count >= objects)
                {
                    break;
                }
            }

            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await watch;
        var watchLatencies = names.Select(n => Math.Max(0, Stopwatch.GetElapsedTime(acknowledged[n], seen[n]).TotalMilliseconds)).ToList();
        results["watch lag p50 ms"] = Percentile(watchLatencies, 0.5);
        results["watch lag p99 ms"] = Percentile(watchLatencies, 0.99);

        var getLatencies = new List<double>();
        clock.Restart();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (name, ct) =>
        {
            var start = Stopwatch.GetTimestamp();
            await client.CoreV1.ReadNamespacedConfigMapAsync(name, "default", cancellationToken: ct);
            lock (getLatencies)
            {
                getLatencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        });
        results["gets/s"] = objects / clock.Elapsed.TotalSeconds;
        results["get p50 ms"] = Percentile(getLatencies, 0.5);

        clock.Restart();
        const int Lists = 20;
        for (var i = 0; i < Lists; i++)
        {
            await client.CoreV1.ListNamespacedConfigMapAsync("default");
        }

        results[$"list of {objects} ms"] = clock.Elapsed.TotalMilliseconds / Lists;
        Console.WriteLine($"{label}: done");
        return results;
    }

    private static double Percentile(List<double> values, double percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(percentile * sorted.Count))];
    }
}
