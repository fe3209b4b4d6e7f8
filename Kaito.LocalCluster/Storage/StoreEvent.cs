using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Storage;

/// <summary>One change in the store, as watches see it. Objects are never mutated once stored.</summary>
public sealed record StoreEvent(string Type, string GroupResource, string? Namespace, long Revision, JsonObject Item, JsonObject? Previous)
{
    public const string Added = "ADDED";
    public const string Modified = "MODIFIED";
    public const string Deleted = "DELETED";
}
