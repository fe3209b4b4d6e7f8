using k8s;
using k8s.Models;

namespace Kaito.Api.Crds;

/// <summary>The checked-in CRDs of <c>deploy/crds</c>, embedded so a controller can install them.</summary>
public static class EmbeddedCrds
{
    /// <summary>Every embedded CRD, ordered by file name.</summary>
    public static IReadOnlyList<V1CustomResourceDefinition> All()
    {
        var assembly = typeof(EmbeddedCrds).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("Kaito.Api.Crds.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return KubernetesYaml.Deserialize<V1CustomResourceDefinition>(reader.ReadToEnd());
            })
            .ToList();
    }
}
