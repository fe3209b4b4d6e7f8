using k8s;
using k8s.Models;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Kaito.Operator.Client;

/// <summary>
/// One shared, typed view of every informer's cache (controller-runtime's cache reader): reconcilers read objects by
/// type, key, namespace or index instead of having each informer injected. Reads never reach the API server.
/// </summary>
public sealed class ObjectCache(IServiceProvider services)
{
    /// <summary>The informer behind type <typeparamref name="T"/>; registered by a controller's builder.</summary>
    public Informer<T> Of<T>()
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        services.GetService<Informer<T>>()
        ?? throw new InvalidOperationException($"No informer caches {typeof(T).Name}: add it to a controller with Owns<{typeof(T).Name}>() or Watches<{typeof(T).Name}>().");

    public T? Get<T>(string? @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta> => Of<T>().Get(@namespace, name);

    public T? Get<T>(ObjectReference key)
        where T : class, IKubernetesObject<V1ObjectMeta> => Of<T>().Get(key.Namespace, key.Name);

    /// <summary>Every cached object of the type, or those in one namespace.</summary>
    public IReadOnlyList<T> List<T>(string? @namespace = null)
        where T : class, IKubernetesObject<V1ObjectMeta> => Of<T>().List(@namespace);

    /// <summary>The cached objects an index maps <paramref name="value"/> to (an index added with the informer's configuration).</summary>
    public IReadOnlyList<T> ByIndex<T>(string index, string value)
        where T : class, IKubernetesObject<V1ObjectMeta> => Of<T>().ByIndex(index, value);
}
