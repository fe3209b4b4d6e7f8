using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// What a simulated controller sees and does in one pass: a consistent read of the objects it needs, the time, and
/// writes that go straight to the store (a conflict means another writer won; the next pass looks again).
/// </summary>
public sealed class SimulationContext(ClusterStore store, TimeProvider clock, SimulationOptions options)
{
    private readonly Dictionary<string, IReadOnlyList<JsonObject>> _lists = [];

    public SimulationOptions Options { get; } = options;

    public DateTimeOffset Now { get; } = clock.GetUtcNow();

    public string Timestamp => Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public IReadOnlyList<JsonObject> List(ResourceType type)
    {
        if (!_lists.TryGetValue(type.GroupResource, out var items))
        {
            _lists[type.GroupResource] = items = store.List(type.GroupResource, null).Items;
        }

        return items;
    }

    public JsonObject? Create(ResourceType type, JsonObject item)
    {
        try
        {
            return store.Create(type, (string?)item["metadata"]?["namespace"] ?? "", item);
        }
        catch (ApiException ex) when (ex.Code is 409 or 403 or 404)
        {
            return null;
        }
    }

    /// <summary>Writes <paramref name="changed"/> (a changed clone of <paramref name="original"/>) when it differs.</summary>
    public void Update(ResourceType type, JsonObject original, JsonObject changed, bool status)
    {
        if (JsonNode.DeepEquals(original, changed))
        {
            return;
        }

        try
        {
            store.Update(type, Key(type, original), changed, status);
        }
        catch (ApiException ex) when (ex.Code is 409 or 404)
        {
            // someone else wrote first, or it is gone: the next pass sees the new state
        }
    }

    /// <summary>Writes both the spec and the status of <paramref name="changed"/>, as a binding and its condition.</summary>
    public void UpdateSpecAndStatus(ResourceType type, JsonObject original, JsonObject changed)
    {
        try
        {
            var key = Key(type, original);
            var stored = store.Update(type, key, changed, statusOnly: false);
            var withStatus = stored.DeepClone().AsObject();
            withStatus["status"] = changed["status"]?.DeepClone();
            store.Update(type, key, withStatus, statusOnly: true);
        }
        catch (ApiException ex) when (ex.Code is 409 or 404)
        {
            // another writer won; the next pass looks again
        }
    }

    public void Delete(ResourceType type, JsonObject item)
    {
        try
        {
            store.Delete(type, Key(type, item), "Background");
        }
        catch (ApiException ex) when (ex.Code == 404)
        {
            // already gone
        }
    }

    public DateTimeOffset? Time(JsonNode? value) =>
        value is not null && DateTimeOffset.TryParse(value.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    private static ObjectKey Key(ResourceType type, JsonObject item) =>
        new(type.GroupResource, (string?)item["metadata"]?["namespace"] ?? "", (string)item["metadata"]!["name"]!);
}
