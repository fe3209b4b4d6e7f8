namespace Kaito.Operator.Runtime;

/// <summary>
/// Brings one object's world to its desired state. Level-based and idempotent: it reads what is, writes what differs,
/// and returns <see cref="ReconcileResult.After"/> when it must wait. An exception means "retry with backoff".
/// </summary>
public interface IReconciler
{
    Task<ReconcileResult> ReconcileAsync(ObjectReference key, CancellationToken cancellationToken);
}

/// <summary>The key of the work queue: an object's namespace (empty for cluster-scoped) and name.</summary>
public readonly record struct ObjectReference(string Namespace, string Name)
{
    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}
