using Kaito.Operator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace Kaito.Operator.Tests;

public sealed class WorkQueueTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task AKeyAddedManyTimesIsQueuedOnce()
    {
        using var queue = Queue();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        queue.Add("a");

        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", await queue.GetAsync(CancellationToken.None));
        Assert.Equal("b", await queue.GetAsync(CancellationToken.None));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task AKeyAddedWhileBeingProcessedWaitsForDoneAndIsNotHandedOutTwice()
    {
        using var queue = Queue();
        queue.Add("a");
        var first = await queue.GetAsync(CancellationToken.None);

        queue.Add("a");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var second = queue.GetAsync(cancel.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        queue.Done(first);

        Assert.Equal("a", await queue.GetAsync(CancellationToken.None));
    }

    [Fact]
    public void BackoffDoublesPerFailureUpToTheCapAndForgetResetsIt()
    {
        using var queue = Queue();

        var delays = Enumerable.Range(0, 6).Select(_ => queue.NextBackoff("a")).ToList();
        queue.Forget("a");

        Assert.Equal([0.01, 0.02, 0.04, 0.08, 0.16, 0.25], delays.Select(d => Math.Round(d.TotalSeconds, 3)));
        Assert.Equal(TimeSpan.FromMilliseconds(10), queue.NextBackoff("a"));
    }

    [Fact]
    public async Task ADelayedAddArrivesWhenItsTimeComes()
    {
        using var queue = Queue();

        queue.AddAfter("later", TimeSpan.FromSeconds(30));
        _clock.Advance(TimeSpan.FromSeconds(29));
        var early = queue.Depth; // the timer has not fired: nothing can have been added

        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, early);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal("later", await queue.GetAsync(cancel.Token));
    }

    private WorkQueue<string> Queue() => new(_clock, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(250));
}
