using System.Net;

namespace Kaito.Oci;

/// <summary>
/// <c>registry[:port]/repository[:tag][@digest]</c>, as docker resolves it: a name without a registry host is Docker
/// Hub's (<c>library/</c> for single-component names), a name without tag or digest is <c>:latest</c>.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string Tag, string? Digest = null)
{
    /// <summary>Parses <paramref name="reference"/>.</summary>
    /// <exception cref="ArgumentException">It is not a valid lowercase reference (the message names it).</exception>
    public static ImageReference Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        string? digest = null;
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = reference[(at + 1)..];
            reference = reference[..at];
            if (!Digests.IsValid(digest))
            {
                throw new ArgumentException($"image '{reference}@{digest}' has a digest that is not sha256:<64 hex digits>");
            }
        }

        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : reference[..slash];
        var hasRegistry = slash > 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost");
        var registry = hasRegistry ? first : "registry-1.docker.io";
        var rest = hasRegistry ? reference[(slash + 1)..] : reference;
        var colon = rest.LastIndexOf(':');
        var (repository, tag) = colon > 0 ? (rest[..colon], rest[(colon + 1)..]) : (rest, digest is null ? "latest" : "");
        if (!hasRegistry && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }

        if (repository.Length == 0 || (tag.Length == 0 && digest is null) || repository.Any(char.IsUpper) || repository.Contains("..", StringComparison.Ordinal)
            || repository.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/')) || tag.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            throw new ArgumentException($"image '{reference}' is not a valid lowercase repository[:tag][@digest] reference");
        }

        return new ImageReference(registry, repository, tag, digest);
    }

    /// <summary>What the manifest is fetched by: the digest when pinned, else the tag.</summary>
    public string ManifestReference => Digest ?? Tag;

    /// <summary>
    /// Whether the registry is on this machine (<c>localhost</c>, 127.0.0.0/8, ::1): spoken to over plain HTTP, as
    /// docker and containerd treat loopback registries as insecure by default.
    /// </summary>
    public bool IsLoopbackRegistry
    {
        get
        {
            var host = Registry;
            if (host.StartsWith('['))
            {
                host = host[1..host.IndexOf(']', StringComparison.Ordinal)];
            }
            else if (host.LastIndexOf(':') is var colon and > 0)
            {
                host = host[..colon];
            }

            return host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
        }
    }

    /// <summary>The same repository at <paramref name="digest"/>.</summary>
    public ImageReference WithDigest(string digest) => this with { Digest = digest };

    public override string ToString() => $"{Registry}/{Repository}{(Tag.Length > 0 ? ":" + Tag : "")}{(Digest is null ? "" : "@" + Digest)}";
}
