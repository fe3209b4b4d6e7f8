using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.Models.Json;

/// <summary>
/// Typed reads from JSON that someone else wrote (adapter_config.json, a safetensors header): a value of the wrong
/// type, a duplicate key or a number out of range is an <see cref="InvalidDataException"/> naming the file and the
/// key — never an InvalidOperationException from deep inside System.Text.Json.
/// </summary>
public static class JsonFields
{
    /// <summary>Parses a JSON object, refusing duplicate keys (which readers would resolve differently).</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: expected a JSON object, found {document.RootElement.ValueKind}");
            }

            // JsonDocument checks strings only when they are read: read every one now, so that bad UTF-8 (or an escaped
            // lone surrogate) is this file's error rather than an InvalidOperationException wherever a value is used.
            CheckStrings(document.RootElement, source);
            return JsonObject.Create(document.RootElement.Clone())!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON: {e.Message}", e);
        }
    }

    private static void CheckStrings(JsonElement element, string source)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        CheckStrings(property.Value, source);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        CheckStrings(item, source);
                    }

                    break;
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON text: {e.Message}", e);
        }
    }

    /// <summary>Parses a JSON object from text; see <see cref="ParseObject(ReadOnlySpan{byte}, string)"/>.</summary>
    public static JsonObject ParseObject(string text, string source) =>
        ParseObject(System.Text.Encoding.UTF8.GetBytes(text ?? throw new ArgumentNullException(nameof(text))), source);

    public static string? Text(JsonObject json, string key, string source) => Value(json, key, source) switch
    {
        null => null,
        { } value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        var value => throw Wrong(source, key, "a string", value),
    };

    public static bool? Boolean(JsonObject json, string key, string source) => Value(json, key, source) switch
    {
        null => null,
        { } value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False => value.GetValue<bool>(),
        var value => throw Wrong(source, key, "true or false", value),
    };

    public static double? Number(JsonObject json, string key, string source)
    {
        var value = Value(json, key, source);
        if (value is null)
        {
            return null;
        }

        return value.GetValueKind() == JsonValueKind.Number && value.AsValue().TryGetValue<double>(out var number) && double.IsFinite(number)
            ? number
            : throw Wrong(source, key, "a number", value);
    }

    public static int? WholeNumber(JsonObject json, string key, string source)
    {
        var value = Value(json, key, source);
        if (value is null)
        {
            return null;
        }

        return value.GetValueKind() == JsonValueKind.Number && value.AsValue().TryGetValue<int>(out var number)
            ? number
            : throw Wrong(source, key, "an integer", value);
    }

    /// <summary>A string, or an array of strings (PEFT writes target_modules either way).</summary>
    public static IReadOnlyList<string> Strings(JsonObject json, string key, string source) => Value(json, key, source) switch
    {
        null => [],
        JsonArray array => [.. array.Select((item, i) => item?.GetValueKind() == JsonValueKind.String
            ? item.GetValue<string>()
            : throw Wrong(source, $"{key}[{i}]", "a string", item))],
        { } value when value.GetValueKind() == JsonValueKind.String => [value.GetValue<string>()],
        var value => throw Wrong(source, key, "a string or a list of strings", value),
    };

    private static JsonNode? Value(JsonObject json, string key, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        return json.TryGetPropertyValue(key, out var value) && value?.GetValueKind() != JsonValueKind.Null ? value : null;
    }

    private static InvalidDataException Wrong(string source, string key, string expected, JsonNode? value)
    {
        var text = value?.ToJsonString() ?? "null";
        return new InvalidDataException($"{source}: {key} must be {expected}, got {(text.Length > 40 ? text[..40] + "…" : text)}");
    }
}
