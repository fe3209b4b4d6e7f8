using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Storage;

/// <summary>
/// Where the store keeps its objects beyond the process: nowhere (in memory), or a database under
/// <c>--data-dir</c>. Writes are synchronous and durable before they return, so every acknowledged write survives a
/// crash.
/// </summary>
public interface IObjectPersistence
{
    /// <summary>The stored objects and the last resource version handed out.</summary>
    (IReadOnlyList<(ObjectKey Key, JsonObject Item)> Objects, long Revision) Load();

    void Put(ObjectKey key, JsonObject item, long revision);

    void Delete(ObjectKey key, long revision);
}

/// <summary>No persistence: the cluster lives and dies with the process.</summary>
public sealed class InMemoryPersistence : IObjectPersistence
{
    public (IReadOnlyList<(ObjectKey Key, JsonObject Item)> Objects, long Revision) Load() => ([], 0);

    public void Put(ObjectKey key, JsonObject item, long revision)
    {
    }

    public void Delete(ObjectKey key, long revision)
    {
    }
}
