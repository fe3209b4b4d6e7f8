namespace Kaito.Tuner.Publishing;

/// <summary>
/// <c>registry[:port]/repository[:tag]</c> as the Workspace's <c>tuning.output.image</c> names it. A name without a
/// registry host is Docker Hub's, as docker resolves it.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string Tag)
{
    public static ImageReference Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        if (reference.Contains('@', StringComparison.Ordinal))
        {
            throw new ArgumentException($"output image '{reference}' has a digest; push targets need a tag");
        }

        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : reference[..slash];
        var hasRegistry = slash > 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost");
        var registry = hasRegistry ? first : "registry-1.docker.io";
        var rest = hasRegistry ? reference[(slash + 1)..] : reference;
        var colon = rest.LastIndexOf(':');
        var (repository, tag) = colon > 0 ? (rest[..colon], rest[(colon + 1)..]) : (rest, "latest");
        if (!hasRegistry && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }

        if (repository.Length == 0 || tag.Length == 0 || repository.Any(char.IsUpper))
        {
            throw new ArgumentException($"output image '{reference}' is not a valid lowercase repository[:tag] reference");
        }

        return new ImageReference(registry, repository, tag);
    }

    public override string ToString() => $"{Registry}/{Repository}:{Tag}";
}
