using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.Cli;

/// <summary>Rows printed as kubectl prints them: <c>-o table</c> (upper-case headers, columns three spaces apart), json or yaml.</summary>
public static class Output
{
    public static readonly string[] Formats = ["table", "json", "yaml"];

    public static void Write(TextWriter writer, string format, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, string kind)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        switch (format)
        {
            case "json":
                writer.WriteLine(Json(columns, rows, kind).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                break;
            case "yaml":
                writer.Write(Yaml(Json(columns, rows, kind)));
                break;
            default:
                var cells = rows.Select(r => r.Select(Text).ToList()).ToList();
                var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToList();
                writer.WriteLine(string.Join("   ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
                foreach (var row in cells)
                {
                    writer.WriteLine(string.Join("   ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
                }

                break;
        }
    }

    private static string Text(object? value) => value switch
    {
        null => "<none>",
        bool b => b ? "true" : "false",
        double d => d.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture),
        IEnumerable<string> list => string.Join(",", list),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    private static JsonObject Json(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, string kind) => new()
    {
        ["kind"] = kind,
        ["items"] = new JsonArray([.. rows.Select(row => (JsonNode)new JsonObject(columns.Select((c, i) => KeyValuePair.Create(Key(c), Node(row[i])))))]),
    };

    private static string Key(string column) => string.Concat(column.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select((w, i) => i == 0 ? w.ToLowerInvariant() : char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant()));

    private static JsonNode? Node(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        double d => JsonValue.Create(Math.Round(d, 2)),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        IEnumerable<string> list when value is not string => new JsonArray([.. list.Select(s => (JsonNode)JsonValue.Create(s)!)]),
        _ => JsonValue.Create(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
    };

    /// <summary>YAML for the JSON tree (block style; strings quoted as JSON, which YAML reads).</summary>
    private static string Yaml(JsonNode? node, int indent = 0)
    {
        var pad = new string(' ', indent);
        var builder = new System.Text.StringBuilder();
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    builder.Append(pad).Append(key).Append(':');
                    builder.Append(value is JsonObject { Count: > 0 } or JsonArray { Count: > 0 } ? "\n" + Yaml(value, indent + 2) : " " + Scalar(value) + "\n");
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    var text = item is JsonObject or JsonArray ? Yaml(item, indent + 2) : pad + "  " + Scalar(item) + "\n";
                    builder.Append(pad).Append("- ").Append(text.AsSpan(indent + 2));
                }

                break;
        }

        return builder.ToString();
    }

    private static string Scalar(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        _ => value.ToJsonString(),
    };
}
