using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Catalog;

/// <summary>Parses a data file into its root mapping, turning YAML syntax errors into located errors.</summary>
internal static class YamlDocuments
{
    public static YamlMappingNode ParseRoot(string text, string file)
    {
        YamlStream stream;
        try
        {
            stream = Serialization.BoundedYaml.Load(text);
        }
        catch (YamlException ex)
        {
            throw new CatalogFormatException(file, null, null, ex.Start.Line, $"invalid YAML: {ex.Message}");
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new CatalogFormatException(file, null, null, 1, "expected one YAML document with a mapping at its root");
        }

        return root;
    }

    public static IEnumerable<YamlEntry> Entries(YamlMappingNode root, string key, string file, Func<YamlMappingNode, string?> name)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(key), out var node))
        {
            yield break;
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw new CatalogFormatException(file, key, null, node.Start.Line, "expected a list of entries");
        }

        var index = 0;
        foreach (var item in sequence)
        {
            if (item is not YamlMappingNode mapping)
            {
                throw new CatalogFormatException(file, $"{key}[{index}]", null, item.Start.Line, "expected a mapping");
            }

            var label = name(mapping) is { } n ? $"{key}[{index}] ({n})" : $"{key}[{index}]";
            yield return new YamlEntry(file, label, mapping);
            index++;
        }
    }

    public static string? ScalarValue(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    public static string ReadEmbedded(string name)
    {
        using var stream = typeof(YamlDocuments).Assembly.GetManifestResourceStream($"Kaito.Api.Data.{name}")
            ?? throw new InvalidOperationException($"The embedded data file {name} is missing from Kaito.Api.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
