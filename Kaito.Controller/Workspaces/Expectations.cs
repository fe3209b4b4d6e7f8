using System.Collections.Concurrent;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// NodeClaims this controller created and has not yet seen in its cache. Until the informer catches up, the
/// reconciler waits instead of counting again, so a slow cache never creates duplicates (ReplicaSet's expectations).
/// Expectations lapse after <see cref="Timeout"/> in case an event was lost.
/// </summary>
public sealed class Expectations(TimeProvider clock)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<ObjectReference, (int Pending, DateTimeOffset Since)> _creates = new();

    public void ExpectCreations(ObjectReference workspace, int count) =>
        _creates.AddOrUpdate(workspace, (count, clock.GetUtcNow()), (_, old) => (old.Pending + count, clock.GetUtcNow()));

    public void CreationObserved(ObjectReference workspace) =>
        _creates.AddOrUpdate(workspace, (0, clock.GetUtcNow()), (_, old) => (Math.Max(0, old.Pending - 1), old.Since));

    public bool Satisfied(ObjectReference workspace) =>
        !_creates.TryGetValue(workspace, out var state) || state.Pending <= 0 || clock.GetUtcNow() - state.Since > Timeout;

    public void Forget(ObjectReference workspace) => _creates.TryRemove(workspace, out _);
}
