using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Serialization;

/// <summary>
/// The one way Kaito reads YAML from anyone else (ConfigMaps, manifests, mounted config files): size, nesting and the
/// expanded node count are checked on YamlDotNet's event stream, which is iterative, before any node tree is built
/// (building one is recursive: 100,000 nested <c>[</c> overflow the stack and kill the process). Aliases count as the
/// nodes they expand to, so a "billion laughs" document is refused rather than expanded. Mapping keys must be scalars,
/// which every Kaito consumer expects. A refusal is a <see cref="YamlException"/> with the line, as a syntax error is —
/// also where YamlDotNet itself throws something else for malformed input.
/// </summary>
public static class BoundedYaml
{
    /// <summary>The largest text accepted: a ConfigMap holds at most 1 MiB, and manifests are far smaller.</summary>
    public const int DefaultMaxCharacters = 1024 * 1024;

    /// <summary>The deepest nesting of maps and sequences accepted; KAITO's files use four or five levels.</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>The most nodes the documents may expand to, aliases included.</summary>
    public const int DefaultMaxNodes = 1_000_000;

    /// <summary>Loads every document of <paramref name="text"/> after checking it against the limits.</summary>
    /// <exception cref="YamlException">Invalid YAML, or YAML beyond a limit; the message says which.</exception>
    public static YamlStream Load(string text, int maxCharacters = DefaultMaxCharacters, int maxDepth = DefaultMaxDepth, int maxNodes = DefaultMaxNodes)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > maxCharacters)
        {
            throw new YamlException(Mark.Empty, Mark.Empty, $"the document is {text.Length} characters long; at most {maxCharacters} are accepted");
        }

        try
        {
            Check(text, maxDepth, maxNodes);
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet reports some malformed input with these instead of a YamlException: it is still the input's fault.
            throw new YamlException(Mark.Empty, Mark.Empty, $"the document cannot be parsed ({e.Message})", e);
        }
    }

    private static void Check(string text, int maxDepth, int maxNodes)
    {
        var parser = new Parser(new StringReader(text));
        // The expanded size of each anchored node, and of the collections still open, so an alias costs what it copies.
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new Stack<(string? Anchor, long Nodes, bool Mapping, int Children)>();
        long total = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case NodeEvent node when node is MappingStart or SequenceStart:
                    KeyMustBeScalar(node);
                    if (open.Count >= maxDepth)
                    {
                        throw new YamlException(node.Start, node.End, $"nesting is deeper than {maxDepth} levels");
                    }

                    open.Push((node.Anchor.IsEmpty ? null : node.Anchor.Value, 1, node is MappingStart, 0));
                    break;
                case MappingEnd or SequenceEnd:
                    var done = open.Pop();
                    Add(done.Nodes, parser.Current.Start);
                    if (done.Anchor is not null)
                    {
                        anchors[done.Anchor] = done.Nodes;
                    }

                    break;
                case Scalar scalar:
                    KeyMustBeScalar(scalar);
                    Add(1, scalar.Start);
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = 1;
                    }

                    break;
                case AnchorAlias alias:
                    KeyMustBeScalar(alias);
                    Add(anchors.TryGetValue(alias.Value.Value, out var size) ? size : 1, alias.Start);
                    break;
            }
        }

        void KeyMustBeScalar(ParsingEvent item)
        {
            if (open.TryPeek(out var parent) && parent.Mapping)
            {
                if (parent.Children % 2 == 0 && item is not Scalar)
                {
                    throw new YamlException(item.Start, item.End, "a mapping key must be a plain value, not a map, list or alias");
                }

                open.Pop();
                open.Push(parent with { Children = parent.Children + 1 });
            }
            else if (open.Count > 0)
            {
                open.Push(open.Pop() with { Children = parent.Children + 1 });
            }
        }

        void Add(long nodes, Mark at)
        {
            if (open.Count > 0)
            {
                var parent = open.Pop();
                open.Push(parent with { Nodes = parent.Nodes + nodes });
            }
            else
            {
                total += nodes;
            }

            if (total + open.Sum(o => o.Nodes) > maxNodes)
            {
                throw new YamlException(at, at, $"the document expands to more than {maxNodes} nodes (aliases count as what they copy)");
            }
        }
    }
}
