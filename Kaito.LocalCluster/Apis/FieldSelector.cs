using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// A parsed <c>fieldSelector</c>: <c>path=value</c>, <c>path==value</c> or <c>path!=value</c>, comma-separated, over the
/// fields Kubernetes supports for selection (metadata.name, metadata.namespace, spec.nodeName, status.phase,
/// involvedObject.*, ...). Any dotted path of the object is accepted.
/// </summary>
public sealed class FieldSelector
{
    private readonly List<(string[] Path, string Value, bool Equal)> _terms = [];

    public static FieldSelector Parse(string? text)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var term in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var notEqual = term.IndexOf("!=", StringComparison.Ordinal);
            var equal = term.IndexOf('=', StringComparison.Ordinal);
            if (notEqual > 0)
            {
                selector._terms.Add((term[..notEqual].Split('.'), term[(notEqual + 2)..], false));
            }
            else if (equal > 0)
            {
                var value = term[(equal + 1)..];
                selector._terms.Add((term[..equal].Split('.'), value.StartsWith('=') ? value[1..] : value, true));
            }
            else
            {
                throw ApiException.BadRequest($"invalid field selector: '{term}': expected field=value or field!=value");
            }
        }

        return selector;
    }

    public bool Matches(JsonObject item) => _terms.All(t => (Lookup(item, t.Path) == t.Value) == t.Equal);

    private static string Lookup(JsonObject item, string[] path)
    {
        JsonNode? node = item;
        foreach (var part in path)
        {
            node = node is JsonObject o ? o[part] : null;
        }

        return node switch
        {
            null => "",
            JsonValue value => value.ToString(),
            _ => node.ToJsonString(),
        };
    }
}
