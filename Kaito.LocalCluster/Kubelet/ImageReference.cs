namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// An image reference taken apart as the container runtimes do: <c>[registry/]path[:tag][@digest]</c>, the registry
/// being the first segment when it has a dot or a port or is <c>localhost</c>, Docker Hub otherwise.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    /// <summary>The repository's last segment: <c>kaito-tuner</c> for <c>ghcr.io/kaito-dotnet/kaito-tuner:0.1</c>.</summary>
    public string Name => Repository[(Repository.LastIndexOf('/') + 1)..];

    public static ImageReference Parse(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        var rest = image.Trim();
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
        }

        var registry = "docker.io";
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var first = rest[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                registry = first;
                rest = rest[(slash + 1)..];
            }
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
        }

        if (registry == "docker.io" && !rest.Contains('/', StringComparison.Ordinal))
        {
            rest = "library/" + rest;
        }

        return new ImageReference(registry, rest, tag ?? (digest is null ? "latest" : null), digest);
    }
}
