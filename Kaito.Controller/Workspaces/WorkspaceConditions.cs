using k8s.Models;
using Kaito.Operator.Runtime;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// The conditions one reconcile computes, bound to the workspace's generation and the pass's time: each is set once
/// with the reason and message of its outcome, <c>lastTransitionTime</c> moving only when the status does.
/// </summary>
public sealed class WorkspaceConditions(IEnumerable<V1Condition>? current, long generation, DateTime now)
{
    /// <summary>Copies: the cached workspace's conditions are shared with the informer.</summary>
    public List<V1Condition> Items { get; } = Conditions.Copy(current);

    public bool IsTrue(string type) => Conditions.IsTrue(Items, type);

    public void Set(string type, bool status, string reason, string message) =>
        Conditions.Set(Items, type, status, reason, message, generation, now);

    /// <summary>Sets <paramref name="type"/> to <paramref name="ok"/> with the reason and message of that outcome.</summary>
    public void Set(string type, bool ok, (string Reason, string Message) whenTrue, (string Reason, string Message) whenFalse)
    {
        var (reason, message) = ok ? whenTrue : whenFalse;
        Set(type, ok, reason, message);
    }
}
