using k8s;
using k8s.Models;

namespace Kaito.Operator.Client;

/// <summary>
/// Adding and removing a finalizer, the one way: a merge patch of the whole list conditional on the version it was
/// computed from, so two writers never drop each other's finalizers.
/// </summary>
public static class FinalizerExtensions
{
    /// <summary>Adds <paramref name="finalizer"/> when missing; true when it wrote (the write's event brings the next pass).</summary>
    public static async Task<bool> AddFinalizerAsync<T>(this ObjectClient client, T item, string finalizer, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(item);
        if (item.Metadata.Finalizers?.Contains(finalizer) == true)
        {
            return false;
        }

        await client.PatchAsync(item, new { metadata = new { finalizers = (item.Metadata.Finalizers ?? []).Append(finalizer).ToList() } }, conditional: true, cancellationToken);
        return true;
    }

    /// <summary>Removes <paramref name="finalizer"/> when present; true when it wrote.</summary>
    public static async Task<bool> RemoveFinalizerAsync<T>(this ObjectClient client, T item, string finalizer, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(item);
        if (item.Metadata.Finalizers?.Contains(finalizer) != true)
        {
            return false;
        }

        await client.PatchAsync(item, new { metadata = new { finalizers = item.Metadata.Finalizers.Where(f => f != finalizer).ToList() } }, conditional: true, cancellationToken);
        return true;
    }
}
