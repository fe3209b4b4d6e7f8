using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis.Strategies;

/// <summary>
/// CustomResourceDefinitions, with what apiextensions-apiserver's controllers do at once: a stored definition is served
/// (registered) and reported NamesAccepted and Established; a removed one stops being served and its objects go.
/// </summary>
internal sealed class CustomResourceDefinitionStrategy(ClusterStore store, ResourceRegistry registry, TimeProvider clock) : ResourceStrategy
{
    public const string GroupResource = "apiextensions.k8s.io/customresourcedefinitions";

    public override void AfterWrite(ResourceType type, JsonObject written)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(written);
        if (written["metadata"]?["deletionTimestamp"] is not null)
        {
            return;
        }

        registry.Register(written);
        var established = written.DeepClone().AsObject();
        var now = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        established["status"] = new JsonObject
        {
            ["acceptedNames"] = written["spec"]!["names"]!.DeepClone(),
            ["storedVersions"] = new JsonArray(written["spec"]!["versions"]!.AsArray()
                .Where(v => v?["storage"]?.GetValue<bool>() == true).Select(v => (JsonNode?)(string)v!["name"]!).ToArray()),
            ["conditions"] = new JsonArray(
                Condition("NamesAccepted", "NoConflicts", "no conflicts found", now),
                Condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now)),
        };
        if (!JsonNode.DeepEquals(written["status"], established["status"]))
        {
            store.Update(type, new ObjectKey(GroupResource, "", (string)written["metadata"]!["name"]!), established, statusOnly: true);
        }
    }

    public override void AfterDelete(ObjectKey key, JsonObject deleted)
    {
        ArgumentNullException.ThrowIfNull(deleted);
        if (store.Get(key) is not null)
        {
            return; // finalizers hold it
        }

        var name = (string)deleted["metadata"]!["name"]!;
        if (registry.Types.FirstOrDefault(t => t.DefinedBy == name) is { } type)
        {
            foreach (var item in store.List(type.GroupResource, null).Items)
            {
                store.Delete(type, new ObjectKey(type.GroupResource, ClusterStore.NamespaceOf(item) ?? "", (string)item["metadata"]!["name"]!), "Background");
            }
        }

        registry.Unregister(name);
    }

    private static JsonObject Condition(string type, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["lastTransitionTime"] = now,
        ["reason"] = reason,
        ["message"] = message,
    };
}
