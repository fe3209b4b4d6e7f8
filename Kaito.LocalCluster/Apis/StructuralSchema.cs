using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// What the API server does with a custom resource's structural schema on every write: apply defaults, prune fields
/// the schema does not declare (reporting them, for strict field validation), and check types, enums, bounds and
/// required fields.
/// </summary>
public static class StructuralSchema
{
    private static readonly HashSet<string> s_rootFields = ["apiVersion", "kind", "metadata"];

    /// <summary>Defaults and prunes <paramref name="item"/> in place; returns the unknown fields and the invalid values.</summary>
    public static (List<string> Unknown, List<string> Invalid) Apply(JsonObject item, JsonObject schema)
    {
        var unknown = new List<string>();
        var invalid = new List<string>();
        Walk(item, schema, "", unknown, invalid, root: true);
        return (unknown, invalid);
    }

    private static void Walk(JsonNode? node, JsonObject schema, string path, List<string> unknown, List<string> invalid, bool root = false)
    {
        if (node is null)
        {
            return;
        }

        if (!TypeMatches(node, schema, path, invalid))
        {
            return;
        }

        if (node is JsonObject obj)
        {
            var properties = schema["properties"] as JsonObject;
            var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
            var additional = schema["additionalProperties"] as JsonObject;

            if (properties is not null)
            {
                foreach (var (name, propertySchema) in properties)
                {
                    if (!obj.ContainsKey(name) && propertySchema?["default"] is { } fallback)
                    {
                        obj[name] = fallback.DeepClone();
                    }
                }
            }

            foreach (var (name, value) in obj.ToList())
            {
                var childPath = path.Length == 0 ? name : $"{path}.{name}";
                if (root && s_rootFields.Contains(name))
                {
                    continue;
                }

                if (properties?[name] is JsonObject childSchema)
                {
                    Walk(value, childSchema, childPath, unknown, invalid);
                }
                else if (additional is not null)
                {
                    Walk(value, additional, childPath, unknown, invalid);
                }
                else if (!preserve)
                {
                    unknown.Add(childPath);
                    obj.Remove(name);
                }
            }

            foreach (var required in (schema["required"] as JsonArray ?? []).Select(r => (string)r!))
            {
                if (!obj.ContainsKey(required))
                {
                    invalid.Add($"{Join(path, required)}: Required value");
                }
            }
        }
        else if (node is JsonArray array && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Walk(array[i], items, $"{path}[{i}]", unknown, invalid);
            }

            CheckBound(array.Count, schema, "minItems", "maxItems", path, "items", invalid);
        }
        else if (node is JsonValue value)
        {
            if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
            {
                invalid.Add($"{path}: Unsupported value: {value.ToJsonString()}: supported values: {string.Join(", ", allowed.Select(a => a!.ToJsonString()))}");
            }

            if (value.GetValueKind() == JsonValueKind.Number)
            {
                var number = Number(value);
                if (schema["minimum"] is { } min && number < Number(min))
                {
                    invalid.Add($"{path}: Invalid value: {value.ToJsonString()}: {path} in body should be greater than or equal to {min.ToJsonString()}");
                }

                if (schema["maximum"] is { } max && number > Number(max))
                {
                    invalid.Add($"{path}: Invalid value: {value.ToJsonString()}: {path} in body should be less than or equal to {max.ToJsonString()}");
                }
            }
            else if (value.GetValueKind() == JsonValueKind.String)
            {
                CheckBound(value.GetValue<string>().Length, schema, "minLength", "maxLength", path, "chars", invalid);
            }
        }
    }

    private static bool TypeMatches(JsonNode node, JsonObject schema, string path, List<string> invalid)
    {
        var kind = node.GetValueKind();
        if (schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true)
        {
            return kind is JsonValueKind.String or JsonValueKind.Number || Fail("integer or string");
        }

        return (string?)schema["type"] switch
        {
            "object" => kind == JsonValueKind.Object || Fail("object"),
            "array" => kind == JsonValueKind.Array || Fail("array"),
            "string" => kind == JsonValueKind.String || Fail("string"),
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False || Fail("boolean"),
            "integer" => (kind == JsonValueKind.Number && IsInteger(node)) || Fail("integer"),
            "number" => kind == JsonValueKind.Number || Fail("number"),
            _ => true,
        };

        bool Fail(string expected)
        {
            var shown = kind == JsonValueKind.String ? "string" : kind.ToString().ToLowerInvariant();
            invalid.Add($"{path}: Invalid value: \"{shown}\": {path} in body must be of type {expected}: \"{shown}\"");
            return false;
        }
    }

    private static bool IsInteger(JsonNode node) =>
        double.TryParse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Abs(d % 1) < double.Epsilon;

    private static void CheckBound(int count, JsonObject schema, string minName, string maxName, string path, string unit, List<string> invalid)
    {
        if (schema[minName] is { } min && count < Number(min))
        {
            invalid.Add($"{path}: Invalid value: {count}: {path} in body should have at least {min.ToJsonString()} {unit}");
        }

        if (schema[maxName] is { } max && count > Number(max))
        {
            invalid.Add($"{path}: Too many: {count}: must have at most {max.ToJsonString()} {unit}");
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>
    /// A JSON number as a double, however the node holds it: parsed from a body (a JsonElement), or made in code from a
    /// long or an int (a server-side apply merge, defaulting), which <c>GetValue&lt;double&gt;</c> refuses to convert.
    /// </summary>
    private static double Number(JsonNode node) =>
        double.Parse(node.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
}
