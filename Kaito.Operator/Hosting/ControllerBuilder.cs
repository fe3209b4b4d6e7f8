using k8s;
using k8s.Models;
using Kaito.Operator.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Kaito.Operator.Hosting;

/// <summary>
/// Declares what a controller reconciles and what brings an object back into its queue, as controller-runtime's
/// builder does: <c>For&lt;Workspace&gt;()</c> is implied by the controller's type, <see cref="Owns{T}"/> follows
/// controller owner references, <see cref="Watches{T}(Func{T, IEnumerable{ObjectReference}}, Action{Informer{T}}?)"/>
/// maps any other object to the keys it concerns. Each kind gets one shared informer however many controllers use it.
/// </summary>
public sealed class ControllerBuilder<TPrimary>
    where TPrimary : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IServiceCollection _services;
    private readonly string _component;

    internal ControllerBuilder(IServiceCollection services, string component, bool clusterScoped)
    {
        _services = services;
        _component = component;
        ClusterScoped = clusterScoped;
        services.AddInformer<TPrimary>(component);
        Wiring.Add((provider, queue) => provider.GetRequiredService<Informer<TPrimary>>().Changed += change =>
            queue.Add(new ObjectReference(change.Item.Metadata.NamespaceProperty ?? "", change.Item.Metadata.Name)));
    }

    internal List<Action<IServiceProvider, WorkQueue<ObjectReference>>> Wiring { get; } = [];

    private bool ClusterScoped { get; }

    internal Func<IServiceProvider, int> Workers { get; private set; } = _ => 1;

    /// <summary>Objects this controller creates with a controller owner reference to a <typeparamref name="TPrimary"/>: a change to one queues its owner.</summary>
    public ControllerBuilder<TPrimary> Owns<T>(Action<Informer<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var owner = ResourceKind.For<TPrimary>();
        return Watches<T>(item => (item.Metadata.OwnerReferences ?? [])
            .Where(o => o.Controller == true && o.Kind == owner.Kind && GroupOf(o.ApiVersion) == owner.Group)
            // A namespaced owner lives in its dependents' namespace; a cluster-scoped one has none.
            .Select(o => new ObjectReference(ClusterScoped ? "" : item.Metadata.NamespaceProperty ?? "", o.Name)), configure);
    }

    /// <summary>Objects of another kind: <paramref name="map"/> says which keys a change to one concerns.</summary>
    public ControllerBuilder<TPrimary> Watches<T>(Func<T, IEnumerable<ObjectReference>> map, Action<Informer<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(map);
        return Watches<T>((_, change) => map(change.Item), configure);
    }

    /// <summary>As the other overload, with the whole change and the services (e.g. to record an observed creation).</summary>
    public ControllerBuilder<TPrimary> Watches<T>(Func<IServiceProvider, InformerEvent<T>, IEnumerable<ObjectReference>> map, Action<Informer<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(map);
        _services.AddInformer(_component, configure);
        Wiring.Add((provider, queue) => provider.GetRequiredService<Informer<T>>().Changed += change =>
        {
            foreach (var key in map(provider, change))
            {
                queue.Add(key);
            }
        });
        return this;
    }

    /// <summary>How many reconciles run at once (one by default).</summary>
    public ControllerBuilder<TPrimary> WithWorkers(Func<IServiceProvider, int> workers)
    {
        Workers = workers ?? throw new ArgumentNullException(nameof(workers));
        return this;
    }

    private static string GroupOf(string apiVersion) => apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
}
