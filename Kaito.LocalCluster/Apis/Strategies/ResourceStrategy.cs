using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis.Strategies;

/// <summary>
/// What a kind adds to the generic request handling, as kube-apiserver's registry strategies do
/// (k8s.io/apiserver/pkg/registry/rest: RESTCreateStrategy, RESTUpdateStrategy, RESTDeleteStrategy, and each kind's
/// pkg/registry/&lt;group&gt;/&lt;kind&gt;/strategy.go): name rules, defaulting, what happens once a write or a deletion is
/// stored, and graceful deletion. The handler calls these hooks and knows no kind by name; the per-kind tables
/// (<see cref="Tables"/>) play the printer's part.
/// </summary>
public abstract class ResourceStrategy
{
    /// <summary>The kind's name rule (most kinds: a DNS-1123 subdomain).</summary>
    public virtual bool IsValidName(string name) => Kaito.Api.Validation.KubernetesNames.IsDns1123Subdomain(name);

    /// <summary>The API server's defaulting on create and update, before admission.</summary>
    public virtual void PrepareForWrite(JsonObject item)
    {
    }

    /// <summary>Defaulting that needs what the store assigns on create (the uid), run inside the create.</summary>
    public virtual Action<JsonObject>? OnCreateAssigned => null;

    /// <summary>Refuses a deletion the kind never allows (an <see cref="ApiException"/>).</summary>
    public virtual void ValidateDelete(ObjectKey key)
    {
    }

    /// <summary>
    /// Seconds a deletion of <paramref name="item"/> waits for its owner agent (a kubelet) to finish it, or null when
    /// it is removed at once (<paramref name="requested"/>: the request's <c>gracePeriodSeconds</c>).
    /// </summary>
    public virtual long? GracePeriod(JsonObject item, long? requested) => null;

    /// <summary>What a real cluster's controllers do at once after a write was stored.</summary>
    public virtual void AfterWrite(ResourceType type, JsonObject written)
    {
    }

    /// <summary>What follows a stored deletion (<paramref name="key"/> may still exist, held by finalizers).</summary>
    public virtual void AfterDelete(ObjectKey key, JsonObject deleted)
    {
    }
}

/// <summary>Kinds with no rules of their own.</summary>
public sealed class DefaultStrategy : ResourceStrategy
{
    public static DefaultStrategy Instance { get; } = new();
}
