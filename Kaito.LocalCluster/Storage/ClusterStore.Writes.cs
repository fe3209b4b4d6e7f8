using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;

namespace Kaito.LocalCluster.Storage;

public sealed partial class ClusterStore
{
    private const string NamespacesResource = "/namespaces";
    private const string ForegroundDeletion = "foregroundDeletion";

    /// <summary>
    /// Creates <paramref name="item"/> (already defaulted, pruned and admitted) in <paramref name="namespace"/>;
    /// <paramref name="defaults"/> is the server-side
    /// defaulting that needs the new object's uid (a Job's selector), run once it has one.
    /// </summary>
    public JsonObject Create(ResourceType type, string @namespace, JsonObject item, Action<JsonObject>? defaults = null)
    {
        var metadata = item["metadata"]!.AsObject();
        var name = (string?)metadata["name"] ?? throw ApiException.Invalid(type.Kind, "", "name or generateName is required", "metadata.name");
        var key = new ObjectKey(type.GroupResource, @namespace, name);
        lock (_gate)
        {
            if (type.Namespaced)
            {
                var owner = Find(new ObjectKey(NamespacesResource, "", @namespace)) ?? throw ApiException.NotFound(NamespacesResource, @namespace);
                if (owner["metadata"]?["deletionTimestamp"] is not null)
                {
                    throw new ApiException(403, "Forbidden",
                        $"{type.Plural} \"{name}\" is forbidden: unable to create new content in namespace {@namespace} because it is being terminated");
                }
            }

            if (Find(key) is not null)
            {
                throw ApiException.AlreadyExists(type.GroupResource, name);
            }

            metadata["uid"] = Guid.NewGuid().ToString();
            defaults?.Invoke(item);
            metadata["creationTimestamp"] = Now();
            metadata["generation"] = 1L;
            metadata.Remove("deletionTimestamp");
            metadata.Remove("deletionGracePeriodSeconds");
            if (type.Namespaced)
            {
                metadata["namespace"] = @namespace;
            }
            else
            {
                metadata.Remove("namespace");
            }

            if (type.HasStatus && type.DefinedBy is not null)
            {
                item.Remove("status");
            }

            if (type.GroupResource == NamespacesResource)
            {
                item["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                item["status"] = new JsonObject { ["phase"] = "Active" };
            }

            return Put(key, item);
        }
    }

    /// <summary>
    /// Replaces an object. The main endpoint keeps the stored status of a type with a status subresource; the status
    /// endpoint (<paramref name="statusOnly"/>) keeps everything but status. A stale resourceVersion is a 409; an
    /// update that changes nothing is not written. Removing the last finalizer of a deleting object deletes it.
    /// </summary>
    public JsonObject Update(ResourceType type, ObjectKey key, JsonObject item, bool statusOnly)
    {
        lock (_gate)
        {
            var existing = Find(key) ?? throw ApiException.NotFound(type.GroupResource, key.Name);
            var metadata = item["metadata"]?.AsObject() ?? throw ApiException.BadRequest("metadata is required");
            var requested = (string?)metadata["resourceVersion"];
            var current = (string)existing["metadata"]!["resourceVersion"]!;
            if (string.IsNullOrEmpty(requested))
            {
                if (type.DefinedBy is not null)
                {
                    throw ApiException.Invalid(type.Kind, key.Name, "Invalid value: 0x0: must be specified for an update", "metadata.resourceVersion");
                }
            }
            else if (requested != current)
            {
                throw ApiException.Conflict(type.GroupResource, key.Name);
            }

            if ((string?)metadata["uid"] is { Length: > 0 } uid && uid != (string?)existing["metadata"]!["uid"])
            {
                throw new ApiException(409, "Conflict",
                    $"Operation cannot be fulfilled on {ApiException.Display(type.GroupResource)} \"{key.Name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {existing["metadata"]!["uid"]}");
            }

            JsonObject updated;
            if (statusOnly)
            {
                updated = existing.DeepClone().AsObject();
                updated["status"] = item["status"]?.DeepClone();
            }
            else
            {
                updated = item.DeepClone().AsObject();
                var updatedMetadata = updated["metadata"]!.AsObject();
                foreach (var owned in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name" })
                {
                    updatedMetadata.Remove(owned);
                    if (existing["metadata"]![owned] is { } value)
                    {
                        updatedMetadata[owned] = value.DeepClone();
                    }
                }

                if (type.HasStatus)
                {
                    updated.Remove("status");
                    if (existing["status"] is { } status)
                    {
                        updated["status"] = status.DeepClone();
                    }
                }

                if (!JsonNode.DeepEquals(Specification(existing), Specification(updated)))
                {
                    updatedMetadata["generation"] = (JsonNumbers.ReadLong(existing["metadata"]!["generation"]) ?? 0) + 1;
                }
            }

            updated["metadata"]!["resourceVersion"] = current;
            if (JsonNode.DeepEquals(existing, updated))
            {
                return existing;
            }

            if (updated["metadata"]!["deletionTimestamp"] is not null && Finalizers(updated).Count == 0)
            {
                var removed = Remove(key);
                AfterRemoval(removed);
                return removed;
            }

            return Put(key, updated);
        }
    }

    /// <summary>
    /// Starts a graceful deletion (a pod its kubelet must stop first): the object stays with a deletionTimestamp
    /// <paramref name="gracePeriodSeconds"/> ahead and that grace period, until <see cref="Delete"/> removes it. A
    /// deletion already under way keeps its timestamp; a shorter grace period is recorded (a kubelet already stopping the
    /// pod keeps the one it started with; a grace period of 0 never gets here, it removes the object).
    /// </summary>
    public JsonObject MarkDeleting(ResourceType type, ObjectKey key, long gracePeriodSeconds)
    {
        lock (_gate)
        {
            var existing = Find(key) ?? throw ApiException.NotFound(type.GroupResource, key.Name);
            var current = JsonNumbers.ReadLong(existing["metadata"]!["deletionGracePeriodSeconds"]);
            if (existing["metadata"]!["deletionTimestamp"] is not null && current <= gracePeriodSeconds)
            {
                return existing;
            }

            var deleting = existing.DeepClone().AsObject();
            deleting["metadata"]!["deletionTimestamp"] = Now(TimeSpan.FromSeconds(gracePeriodSeconds));
            deleting["metadata"]!["deletionGracePeriodSeconds"] = gracePeriodSeconds;
            return Put(key, deleting);
        }
    }

    /// <summary>
    /// Deletes an object. With finalizers it only gets a deletionTimestamp and waits for them; otherwise it is removed and
    /// its dependents are collected: deleted (Background, Foreground) or released (Orphan).
    /// </summary>
    public JsonObject Delete(ResourceType type, ObjectKey key, string? propagationPolicy)
    {
        lock (_gate)
        {
            return DeleteLocked(type.GroupResource, key, propagationPolicy ?? "Background");
        }
    }

    private JsonObject DeleteLocked(string groupResource, ObjectKey key, string policy)
    {
        var existing = Find(key) ?? throw ApiException.NotFound(groupResource, key.Name);
        var uid = (string)existing["metadata"]!["uid"]!;
        if (policy == "Orphan")
        {
            ReleaseDependents(uid);
        }

        var finalizers = Finalizers(existing);
        if (groupResource == NamespacesResource)
        {
            return DeleteNamespace(key, existing);
        }

        if (policy == "Foreground" && Dependents(uid).Any())
        {
            finalizers = [.. finalizers.Append(ForegroundDeletion).Distinct()];
        }

        if (finalizers.Count > 0)
        {
            if (existing["metadata"]!["deletionTimestamp"] is not null && finalizers.SequenceEqual(Finalizers(existing)))
            {
                return existing;
            }

            var deleting = existing.DeepClone().AsObject();
            deleting["metadata"]!["deletionTimestamp"] ??= Now();
            deleting["metadata"]!["deletionGracePeriodSeconds"] = 0;
            deleting["metadata"]!["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode?)f).ToArray());
            var stored = Put(key, deleting);
            if (finalizers.Contains(ForegroundDeletion))
            {
                foreach (var dependent in Dependents(uid).ToList())
                {
                    DeleteLocked(dependent.GroupResource, dependent, "Background");
                }
            }

            return stored;
        }

        var removed = Remove(key);
        AfterRemoval(removed);
        return removed;
    }

    private JsonObject DeleteNamespace(ObjectKey key, JsonObject existing)
    {
        var terminating = existing.DeepClone().AsObject();
        terminating["metadata"]!["deletionTimestamp"] ??= Now();
        terminating["status"] = new JsonObject { ["phase"] = "Terminating" };
        var stored = JsonNode.DeepEquals(existing, terminating) ? existing : Put(key, terminating);
        foreach (var item in _objects.SelectMany(r => r.Value.Where(o => o.Key.Namespace == key.Name)
                     .Select(o => new ObjectKey(r.Key, o.Key.Namespace, o.Key.Name))).ToList())
        {
            if (Find(item) is { } member && member["metadata"]!["deletionTimestamp"] is null)
            {
                DeleteLocked(item.GroupResource, item, "Background");
            }
        }

        return FinishNamespaceIfEmpty(key.Name) ?? stored;
    }

    private JsonObject? FinishNamespaceIfEmpty(string name)
    {
        var key = new ObjectKey(NamespacesResource, "", name);
        if (Find(key) is not { } ns || ns["metadata"]!["deletionTimestamp"] is null ||
            _objects.Any(r => r.Value.Keys.Any(k => k.Namespace == name)) || Finalizers(ns).Count > 0)
        {
            return null;
        }

        return Remove(key);
    }

    /// <summary>After an object is gone: collect its dependents, release a foreground owner, finish its namespace.</summary>
    private void AfterRemoval(JsonObject removed)
    {
        var uid = (string)removed["metadata"]!["uid"]!;
        foreach (var dependent in Dependents(uid).ToList())
        {
            if (Find(dependent) is { } item && item["metadata"]!["deletionTimestamp"] is null)
            {
                DeleteLocked(dependent.GroupResource, dependent, "Background");
            }
        }

        foreach (var owner in (removed["metadata"]!["ownerReferences"]?.AsArray() ?? []).Select(o => (string?)o?["uid"]))
        {
            ReleaseForegroundOwner(owner);
        }

        if (NamespaceOf(removed) is { } ns)
        {
            FinishNamespaceIfEmpty(ns);
        }

    }

    private void ReleaseForegroundOwner(string? ownerUid)
    {
        var owner = _objects.SelectMany(r => r.Value.Select(o => (Resource: r.Key, o.Key, Item: o.Value)))
            .FirstOrDefault(o => (string?)o.Item["metadata"]!["uid"] == ownerUid);
        if (owner.Item is null || !Finalizers(owner.Item).Contains(ForegroundDeletion) || Dependents(ownerUid!).Any())
        {
            return;
        }

        var key = new ObjectKey(owner.Resource, owner.Key.Namespace, owner.Key.Name);
        var released = owner.Item.DeepClone().AsObject();
        var remaining = Finalizers(owner.Item).Where(f => f != ForegroundDeletion).ToList();
        released["metadata"]!["finalizers"] = new JsonArray(remaining.Select(f => (JsonNode?)f).ToArray());
        if (remaining.Count == 0)
        {
            Put(key, released);
            AfterRemoval(Remove(key));
        }
        else
        {
            Put(key, released);
        }
    }

    private void ReleaseDependents(string ownerUid)
    {
        foreach (var dependent in Dependents(ownerUid).ToList())
        {
            var item = Find(dependent)!.DeepClone().AsObject();
            var references = item["metadata"]!["ownerReferences"]!.AsArray();
            foreach (var reference in references.Where(r => (string?)r?["uid"] == ownerUid).ToList())
            {
                references.Remove(reference);
            }

            Put(dependent, item);
        }
    }

    private IEnumerable<ObjectKey> Dependents(string ownerUid) =>
        _objects.SelectMany(r => r.Value
            .Where(o => o.Value["metadata"]?["ownerReferences"]?.AsArray().Any(x => (string?)x?["uid"] == ownerUid) == true)
            .Select(o => new ObjectKey(r.Key, o.Key.Namespace, o.Key.Name)));

    private static List<string> Finalizers(JsonObject item) =>
        item["metadata"]?["finalizers"]?.AsArray().Select(f => (string)f!).ToList() ?? [];

    /// <summary>What counts for metadata.generation: everything but metadata and status.</summary>
    private static JsonObject Specification(JsonObject item)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in item)
        {
            if (name is not ("metadata" or "status" or "apiVersion" or "kind"))
            {
                copy[name] = value?.DeepClone();
            }
        }

        return copy;
    }
}
