using System.Collections;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.Crds;

/// <summary>
/// Builds a structural OpenAPI v3 schema from a C# type: properties from <c>[JsonPropertyName]</c>, descriptions from the
/// <c>///</c> docs, and required fields, enums, bounds, patterns, defaults and schemaless fields from the Schema attributes.
/// Kubernetes' own types (label selector, condition, taint, quantity) get their API server schemas.
/// </summary>
public sealed class SchemaBuilder(XmlDocumentation docs, string version)
{
    /// <summary>The schema of a top-level custom resource type.</summary>
    public V1JSONSchemaProps ForResource(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var schema = ForObject(type);
        schema.Properties["metadata"] = new V1JSONSchemaProps { Type = "object" };
        return schema;
    }

    private V1JSONSchemaProps ForObject(Type type)
    {
        var properties = new Dictionary<string, V1JSONSchemaProps>();
        var required = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonPropertyNameAttribute>() is not { } json)
            {
                continue;
            }

            var schema = property.Name == "Metadata" ? new V1JSONSchemaProps { Type = "object" } : ForProperty(property);
            schema.Description ??= docs.Of(property);
            properties[json.Name] = schema;
            if (property.GetCustomAttribute<SchemaRequiredAttribute>() is not null)
            {
                required.Add(json.Name);
            }
        }

        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = docs.Of(type),
            Properties = properties,
            Required = required.Count > 0 ? required : null,
        };
    }

    private V1JSONSchemaProps ForProperty(PropertyInfo property)
    {
        if (property.GetCustomAttribute<PreserveUnknownFieldsAttribute>() is not null)
        {
            return new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true };
        }

        var schema = ForType(property.PropertyType);
        if (property.GetCustomAttribute<SchemaEnumAttribute>() is { } values)
        {
            schema.EnumProperty = values.Values.Cast<object>().ToList();
        }

        if (property.GetCustomAttribute<SchemaPatternAttribute>() is { } pattern)
        {
            schema.Pattern = pattern.Pattern;
        }

        if (property.GetCustomAttribute<SchemaRangeAttribute>() is { } range)
        {
            ApplyRange(schema, range);
        }

        if (property.GetCustomAttributes<SchemaDefaultAttribute>().FirstOrDefault(d => d.Version is null || d.Version == version) is { } fallback)
        {
            schema.DefaultProperty = fallback.Value;
        }

        return schema;
    }

    private static void ApplyRange(V1JSONSchemaProps schema, SchemaRangeAttribute range)
    {
        long? min = range.Minimum == long.MinValue ? null : range.Minimum;
        long? max = range.Maximum == long.MaxValue ? null : range.Maximum;
        switch (schema.Type)
        {
            case "array":
                schema.MinItems = min;
                schema.MaxItems = max;
                break;
            case "string":
                schema.MinLength = min;
                schema.MaxLength = max;
                break;
            default:
                schema.Minimum = min;
                schema.Maximum = max;
                break;
        }
    }

    private V1JSONSchemaProps ForType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new V1JSONSchemaProps { Type = "string" };
        }

        if (type == typeof(int))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int32" };
        }

        if (type == typeof(long))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int64" };
        }

        if (type == typeof(double))
        {
            return new V1JSONSchemaProps { Type = "number" };
        }

        if (type == typeof(bool))
        {
            return new V1JSONSchemaProps { Type = "boolean" };
        }

        if (type == typeof(DateTime))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "date-time" };
        }

        if (type == typeof(JsonObject))
        {
            return new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true };
        }

        if (KubernetesSchemas.For(type) is { } known)
        {
            return known;
        }

        if (DictionaryValueType(type) is { } value)
        {
            return new V1JSONSchemaProps { Type = "object", AdditionalProperties = ForType(value) };
        }

        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) && ElementType(type) is { } element)
        {
            var items = ForType(element);
            var array = new V1JSONSchemaProps { Type = "array", Items = items };
            if (element == typeof(V1Condition))
            {
                array.XKubernetesListType = "map";
                array.XKubernetesListMapKeys = ["type"];
            }

            return array;
        }

        if (type.IsClass && type.Namespace?.StartsWith("Kaito.Api", StringComparison.Ordinal) == true)
        {
            return ForObject(type);
        }

        throw new NotSupportedException($"No schema mapping for {type.FullName}; add one to SchemaBuilder or KubernetesSchemas.");
    }

    private static Type? DictionaryValueType(Type type) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>) ? type : type.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)))
        is { } dictionary && dictionary.GetGenericArguments()[0] == typeof(string) ? dictionary.GetGenericArguments()[1] : null;

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType() : (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IList<>) ? type : type.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)))?.GetGenericArguments()[0];
}
