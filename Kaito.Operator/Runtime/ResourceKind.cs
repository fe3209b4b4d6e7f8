using System.Reflection;
using k8s.Models;

namespace Kaito.Operator.Runtime;

/// <summary>Where a kind lives in the API: group, version, plural resource name, and its kind name.</summary>
public sealed record ResourceKind(string Group, string Version, string Plural, string Kind = "")
{
    private string Root => Group.Length == 0 ? $"api/{Version}" : $"apis/{Group}/{Version}";

    /// <summary>The collection path across all namespaces, relative to the server.</summary>
    public string CollectionPath => $"{Root}/{Plural}";

    /// <summary><c>group/version</c> (just <c>version</c> for the core group), as objects' <c>apiVersion</c> says it.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The collection in <paramref name="namespace"/>, or cluster-wide for null or empty (cluster-scoped kinds).</summary>
    public string CollectionIn(string? @namespace) =>
        string.IsNullOrEmpty(@namespace) ? CollectionPath : $"{Root}/namespaces/{Uri.EscapeDataString(@namespace)}/{Plural}";

    /// <summary>One object's path.</summary>
    public string ItemPath(string? @namespace, string name) => $"{CollectionIn(@namespace)}/{Uri.EscapeDataString(name)}";

    /// <summary>The kind of a type carrying KubernetesClient's <see cref="KubernetesEntityAttribute"/>.</summary>
    public static ResourceKind For<T>()
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new InvalidOperationException($"{typeof(T).Name} has no [KubernetesEntity] attribute naming its group, version and plural.");
        return new ResourceKind(entity.Group ?? "", entity.ApiVersion, entity.PluralName, entity.Kind);
    }

    public override string ToString() => Group.Length == 0 ? $"{Plural}/{Version}" : $"{Plural}.{Group}/{Version}";
}
