using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kaito.Operator.Tests;

public sealed class ControllerRunnerTests
{
    [Fact]
    public async Task RequeuesWhenAskedRetriesFailuresAndNeverRunsOneKeyTwiceAtOnce()
    {
        var reconciler = new ScriptedReconciler();
        using var queue = new WorkQueue<ObjectReference>(TimeProvider.System, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50));
        using var source = new ActivitySource("Kaito.Tests");
        using var meter = new Meter("Kaito.Tests");
        var runner = new ControllerRunner("test", reconciler, queue, workers: 4, source, meter, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var running = runner.RunAsync(stop.Token);

        var key = new ObjectReference("default", "ws");
        for (var i = 0; i < 20; i++)
        {
            queue.Add(key);
            queue.Add(new ObjectReference("default", $"other-{i % 3}"));
        }

        while (reconciler.Calls(key) < 3)
        {
            await Task.Delay(10, stop.Token);
        }

        await stop.CancelAsync();
        await running;

        Assert.Equal(1, reconciler.MaxConcurrency);
        Assert.Equal(["requeue", "throw", "done"], reconciler.Outcomes(key).Take(3));
    }

    private sealed class ScriptedReconciler : IReconciler
    {
        private readonly ConcurrentDictionary<ObjectReference, int> _active = new();
        private readonly ConcurrentDictionary<ObjectReference, ConcurrentQueue<string>> _outcomes = new();
        private int _maxConcurrency;

        public int MaxConcurrency => _maxConcurrency;

        public int Calls(ObjectReference key) => _outcomes.GetValueOrDefault(key)?.Count ?? 0;

        public List<string> Outcomes(ObjectReference key) => [.. _outcomes[key]];

        public async Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken)
        {
            var concurrent = _active.AddOrUpdate(key, 1, (_, n) => n + 1);
            InterlockedMax(ref _maxConcurrency, concurrent);
            try
            {
                await Task.Delay(20, cancellationToken);
                var outcomes = _outcomes.GetOrAdd(key, _ => new ConcurrentQueue<string>());
                var outcome = key.Name != "ws" ? "done" : outcomes.Count switch { 0 => "requeue", 1 => "throw", _ => "done" };
                outcomes.Enqueue(outcome);
                return outcome switch
                {
                    "requeue" => ReconcileResult.After(TimeSpan.FromMilliseconds(30)),
                    "throw" => throw new InvalidOperationException("transient"),
                    _ => ReconcileResult.Done,
                };
            }
            finally
            {
                _active.AddOrUpdate(key, 0, (_, n) => n - 1);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }
}
