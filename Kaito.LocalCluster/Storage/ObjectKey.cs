namespace Kaito.LocalCluster.Storage;

/// <summary>Where an object lives: its resource, namespace (empty for cluster-scoped) and name.</summary>
public readonly record struct ObjectKey(string GroupResource, string Namespace, string Name)
{
    public override string ToString() => Namespace.Length == 0 ? $"{GroupResource}/{Name}" : $"{GroupResource}/{Namespace}/{Name}";
}
