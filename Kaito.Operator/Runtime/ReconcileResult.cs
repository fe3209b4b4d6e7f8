namespace Kaito.Operator.Runtime;

/// <summary>What a reconcile asks of the queue: nothing more, or another look after a delay ("not ready yet").</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => default;

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}
