using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Request bodies as kube-apiserver reads JSON: a key given twice keeps its last value (as Go's decoder does), rather
/// than failing deep inside System.Text.Json's lazy object when the key is first used; every string is read up front,
/// so an invalid escape is this body's 400 and not a 500 later.
/// </summary>
public static class JsonBodies
{
    private static readonly JsonDocumentOptions s_options = new() { AllowDuplicateProperties = true, MaxDepth = 64 };

    /// <exception cref="ApiException">400 naming what is wrong.</exception>
    public static JsonNode? Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            using var document = JsonDocument.Parse(body, s_options);
            return Build(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw ApiException.BadRequest($"the object provided is unrecognized: {e.Message}");
        }
    }

    private static JsonNode? Build(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var json = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    json[property.Name] = Build(property.Value);
                }

                return json;
            case JsonValueKind.Array:
                return new JsonArray([.. element.EnumerateArray().Select(Build)]);
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString());
            case JsonValueKind.Null:
                return null;
            default:
                return JsonNode.Parse(element.GetRawText());
        }
    }
}
