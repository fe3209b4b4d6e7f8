using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using Kaito.Api.Catalog;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Serialization;

/// <summary>
/// YAML in, Kubernetes JSON out: documents are converted node by node with YAML 1.2 core-schema typing (plain
/// <c>true</c>, numbers and <c>null</c> are typed; quoted scalars stay strings), then read with KubernetesClient's JSON
/// settings, so a YAML manifest and its JSON form give the same object.
/// </summary>
public static class KaitoYaml
{
    /// <summary>Every document of a (possibly multi-document) YAML text, as JSON objects; empty documents are skipped.</summary>
    public static IReadOnlyList<JsonObject> LoadAll(string yaml, string source = "<yaml>")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        YamlStream stream;
        try
        {
            // kube-apiserver refuses request bodies over 3 MiB; the same bound holds here.
            stream = BoundedYaml.Load(yaml, maxCharacters: 3 * 1024 * 1024);
        }
        catch (YamlException ex)
        {
            throw new CatalogFormatException(source, null, null, ex.Start.Line, $"invalid YAML: {ex.InnerException?.Message ?? ex.Message}");
        }

        var documents = new List<JsonObject>();
        foreach (var document in stream.Documents)
        {
            switch (ToJson(document.RootNode))
            {
                case JsonObject json:
                    documents.Add(json);
                    break;
                case null:
                    break;
                default:
                    throw new CatalogFormatException(source, null, null, document.RootNode.Start.Line, "a manifest must be a map");
            }
        }

        return documents;
    }

    /// <summary>Reads one object of type <typeparamref name="T"/> from a JSON object.</summary>
    public static T Deserialize<T>(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return KubernetesJson.Deserialize<T>(json.ToJsonString());
    }

    /// <summary>Reads the single document of <paramref name="yaml"/> as <typeparamref name="T"/>.</summary>
    public static T Deserialize<T>(string yaml, string source = "<yaml>")
    {
        var documents = LoadAll(yaml, source);
        return documents.Count == 1
            ? Deserialize<T>(documents[0])
            : throw new CatalogFormatException(source, null, null, 1, $"expected one document, found {documents.Count}");
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => ToObject(mapping),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => ToValue(scalar),
        _ => throw new CatalogFormatException("<yaml>", null, null, node.Start.Line, $"unsupported YAML node {node.NodeType}"),
    };

    private static JsonObject ToObject(YamlMappingNode mapping)
    {
        var json = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode { Value: { } text } ? text
                : throw new CatalogFormatException("<yaml>", null, null, key.Start.Line, "mapping keys must be scalars");
            json[name] = ToJson(value);
        }

        return json;
    }

    private static JsonValue? ToValue(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            _ when IsFloat(text) => JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(text),
        };
    }

    // YAML 1.2 core schema floats: digits with a point or exponent (not "1.0.0", not "Infinity").
    private static bool IsFloat(string text) =>
        text.Any(char.IsDigit) && text.All(c => char.IsDigit(c) || c is '.' or 'e' or 'E' or '+' or '-') &&
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);
}
