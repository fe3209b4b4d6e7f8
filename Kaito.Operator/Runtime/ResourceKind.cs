using System.Reflection;
using k8s.Models;

namespace Kaito.Operator.Runtime;

/// <summary>Where a kind lives in the API: group, version and plural resource name.</summary>
public sealed record ResourceKind(string Group, string Version, string Plural)
{
    /// <summary>The collection path across all namespaces, relative to the server.</summary>
    public string CollectionPath => Group.Length == 0 ? $"api/{Version}/{Plural}" : $"apis/{Group}/{Version}/{Plural}";

    /// <summary>The kind of a type carrying KubernetesClient's <see cref="KubernetesEntityAttribute"/>.</summary>
    public static ResourceKind For<T>()
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new InvalidOperationException($"{typeof(T).Name} has no [KubernetesEntity] attribute naming its group, version and plural.");
        return new ResourceKind(entity.Group ?? "", entity.ApiVersion, entity.PluralName);
    }

    public override string ToString() => Group.Length == 0 ? $"{Plural}/{Version}" : $"{Plural}.{Group}/{Version}";
}
