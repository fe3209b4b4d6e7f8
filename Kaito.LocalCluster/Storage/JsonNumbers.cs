using System.Globalization;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Storage;

/// <summary>Reads numbers from JSON nodes whatever CLR type backs them (parsed elements, or values the server set).</summary>
public static class JsonNumbers
{
    public static int? ReadInt(JsonNode? node) => ReadLong(node) is { } value ? checked((int)value) : null;

    public static long? ReadLong(JsonNode? node) =>
        node is JsonValue value && long.TryParse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : null;
}
