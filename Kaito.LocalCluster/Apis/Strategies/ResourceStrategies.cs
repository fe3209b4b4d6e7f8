using Kaito.LocalCluster.Resources;

namespace Kaito.LocalCluster.Apis.Strategies;

/// <summary>The strategy of each kind that has one (by group/resource); <see cref="DefaultStrategy"/> for the rest.</summary>
public sealed class ResourceStrategies(IEnumerable<KindStrategy> strategies)
{
    private readonly Dictionary<string, ResourceStrategy> _byResource = strategies.ToDictionary(s => s.GroupResource, s => s.Strategy, StringComparer.Ordinal);

    public ResourceStrategy For(ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return _byResource.GetValueOrDefault(type.GroupResource) ?? DefaultStrategy.Instance;
    }
}

/// <summary>A strategy registered for one group/resource (<c>/pods</c>, <c>batch/jobs</c>, …).</summary>
public sealed record KindStrategy(string GroupResource, ResourceStrategy Strategy);
