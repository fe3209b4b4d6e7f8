using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// The JSONPath subset printer columns use: <c>.a.b</c>, escaped dots in keys (<c>.labels.node\.kubernetes\.io/x</c>),
/// indexes (<c>[0]</c>) and filters (<c>[?(@.type=="Ready")]</c>). Several matches are joined with commas, as kubectl does.
/// </summary>
public static class JsonPath
{
    public static string Evaluate(JsonNode? root, string path)
    {
        IEnumerable<JsonNode?> current = [root];
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                i++;
                var name = new System.Text.StringBuilder();
                while (i < path.Length && path[i] != '.' && path[i] != '[')
                {
                    if (path[i] == '\\' && i + 1 < path.Length)
                    {
                        i++;
                    }

                    name.Append(path[i++]);
                }

                var key = name.ToString();
                current = current.Select(n => n is JsonObject o ? o[key] : null).Where(n => n is not null).ToList();
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                var inner = path[(i + 1)..end];
                i = end + 1;
                current = inner.StartsWith("?(", StringComparison.Ordinal) ? Filter(current, inner[2..^1]) : Index(current, inner);
            }
            else
            {
                i++;
            }
        }

        return string.Join(",", current.Where(n => n is not null).Select(Text));
    }

    private static List<JsonNode?> Index(IEnumerable<JsonNode?> nodes, string inner) =>
        inner == "*"
            ? nodes.SelectMany(n => n is JsonArray a ? a : []).ToList()
            : nodes.Select(n => n is JsonArray a && int.TryParse(inner, System.Globalization.CultureInfo.InvariantCulture, out var k) && k < a.Count ? a[k] : null).ToList();

    private static List<JsonNode?> Filter(IEnumerable<JsonNode?> nodes, string condition)
    {
        // @.field=="value" (or !=)
        var notEqual = condition.Contains("!=", StringComparison.Ordinal);
        var parts = condition.Split(notEqual ? "!=" : "==", 2);
        var field = parts[0].Trim().TrimStart('@').TrimStart('.');
        var expected = parts.Length > 1 ? parts[1].Trim().Trim('"', '\'') : null;
        return nodes.SelectMany(n => n is JsonArray a ? a : [])
            .Where(e => e is JsonObject o && (expected is null ? o.ContainsKey(field) : (Text(o[field]) == expected) != notEqual))
            .ToList();
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };
}
