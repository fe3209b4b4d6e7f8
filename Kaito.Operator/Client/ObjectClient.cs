using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Operator.Kubernetes;
using Kaito.Operator.Runtime;

namespace Kaito.Operator.Client;

/// <summary>
/// Typed reads and writes of any kind, core or custom, by its C# type (as controller-runtime's client does): the path
/// comes from the type's <see cref="KubernetesEntityAttribute"/>, and the answers a reconciler expects are results, not
/// exceptions — a missing object is null or false, a stale write is <see cref="WriteResult.Conflict"/>. Everything else
/// (an unreachable server, 403, 422) throws, and the reconcile is retried with backoff.
/// </summary>
public sealed class ObjectClient(KubernetesApi api)
{
    public async Task<T?> GetAsync<T>(string? @namespace, string name, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            return await SendAsync<T>(HttpMethod.Get, ResourceKind.For<T>().ItemPath(@namespace, name), null, cancellationToken);
        }
        catch (HttpOperationException e) when (ApiErrors.IsNotFound(e))
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var path = ResourceKind.For<T>().CollectionIn(@namespace) + (labelSelector is null ? "" : $"?labelSelector={Uri.EscapeDataString(labelSelector)}");
        using var response = await api.SendAsync(HttpMethod.Get, path, null, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return [.. document.RootElement.GetProperty("items").EnumerateArray().Select(item => KubernetesJson.Deserialize<T>(item.GetRawText()))];
    }

    /// <summary>Creates <paramref name="item"/>; false when it exists already (a cache that was behind: the next event brings it in).</summary>
    public async Task<bool> CreateAsync<T>(T item, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        var kind = ResourceKind.For<T>();
        // Typed objects are built without apiVersion and kind; custom resources need them in the body.
        item.ApiVersion ??= kind.ApiVersion;
        item.Kind ??= kind.Kind;
        try
        {
            await SendAsync<T>(HttpMethod.Post, kind.CollectionIn(item.Metadata.NamespaceProperty), item, cancellationToken);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates <paramref name="item"/>, or replaces the stored object with it (at the stored version): for objects a
    /// component owns whole, such as CRDs and webhook configurations. A 409 (someone wrote it meanwhile) throws, for the
    /// caller's retry.
    /// </summary>
    public async Task CreateOrReplaceAsync<T>(T item, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        var existing = await GetAsync<T>(item.Metadata.NamespaceProperty, item.Metadata.Name, cancellationToken);
        if (existing is null)
        {
            if (await CreateAsync(item, cancellationToken))
            {
                return;
            }

            throw new InvalidOperationException($"{item.Metadata.Name} was created by someone else meanwhile; try again");
        }

        var kind = ResourceKind.For<T>();
        item.ApiVersion ??= kind.ApiVersion;
        item.Kind ??= kind.Kind;
        item.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
        await SendAsync<T>(HttpMethod.Put, kind.ItemPath(item.Metadata.NamespaceProperty, item.Metadata.Name), item, cancellationToken);
    }

    /// <summary>
    /// A JSON merge patch of <paramref name="item"/>. With <paramref name="conditional"/> it carries the item's
    /// resourceVersion, so it applies only to the version the caller read (a finalizer list, annotations computed from it).
    /// </summary>
    public Task<WriteResult> PatchAsync<T>(T item, object patch, bool conditional, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        WriteAsync<T>(item, patch, conditional, subresource: null, cancellationToken);

    /// <summary>
    /// Writes <c>status</c> through the status subresource, conditional on the resourceVersion the status was computed
    /// from: a reconcile that read a stale object gets <see cref="WriteResult.Conflict"/> and the newer object's event
    /// brings another pass, instead of overwriting what it did not see.
    /// </summary>
    public Task<WriteResult> PatchStatusAsync<T>(T item, object status, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        WriteAsync<T>(item, new Dictionary<string, object?> { ["status"] = status }, conditional: true, subresource: "status", cancellationToken);

    /// <summary>Deletes an object; false when it was already gone.</summary>
    public async Task<bool> DeleteAsync<T>(string? @namespace, string name, string? propagationPolicy, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var path = ResourceKind.For<T>().ItemPath(@namespace, name) + (propagationPolicy is null ? "" : $"?propagationPolicy={propagationPolicy}");
        try
        {
            using var response = await api.SendAsync(HttpMethod.Delete, path, null, cancellationToken);
            return true;
        }
        catch (HttpOperationException e) when (ApiErrors.IsNotFound(e))
        {
            return false;
        }
    }

    private async Task<WriteResult> WriteAsync<T>(T item, object patch, bool conditional, string? subresource, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(patch);
        var json = System.Text.Json.Nodes.JsonNode.Parse(KubernetesJson.Serialize(patch))!.AsObject();
        if (conditional)
        {
            // A merge patch naming metadata.resourceVersion applies only to that version (kube-apiserver's precondition).
            var metadata = json["metadata"] as System.Text.Json.Nodes.JsonObject ?? [];
            json["metadata"] = metadata;
            metadata["resourceVersion"] = item.Metadata.ResourceVersion;
        }

        var path = ResourceKind.For<T>().ItemPath(item.Metadata.NamespaceProperty, item.Metadata.Name) + (subresource is null ? "" : $"/{subresource}");
        try
        {
            using var response = await api.SendAsync(HttpMethod.Patch, path, new V1Patch(json.ToJsonString(), V1Patch.PatchType.MergePatch), cancellationToken);
            return WriteResult.Written;
        }
        catch (HttpOperationException e) when (ApiErrors.IsNotFound(e))
        {
            return WriteResult.Gone;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return WriteResult.Conflict;
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(method, path, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return KubernetesJson.Deserialize<T>(text);
    }
}

/// <summary>What became of a write a reconciler makes.</summary>
public enum WriteResult
{
    /// <summary>The server took it.</summary>
    Written,

    /// <summary>The object changed since it was read: the newer version's event brings another pass.</summary>
    Conflict,

    /// <summary>The object is gone.</summary>
    Gone,
}

/// <summary>The API errors a reconciler tells apart.</summary>
public static class ApiErrors
{
    public static bool IsNotFound(HttpOperationException error) =>
        error?.Response.StatusCode == HttpStatusCode.NotFound;

    public static bool IsConflict(HttpOperationException error) =>
        error?.Response.StatusCode == HttpStatusCode.Conflict;
}
