using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Catalog;

/// <summary>
/// One mapping entry of a data file, read field by field. Every failure names the file, the entry, the field and the
/// line; fields the reader never asked for are reported too, so a typo does not silently fall back to a default.
/// </summary>
internal sealed class YamlEntry(string file, string label, YamlMappingNode node)
{
    private readonly HashSet<string> _read = [];

    public string Label { get; } = label;

    public long Line => node.Start.Line;

    public string? String(string field, bool required = false)
    {
        var value = Scalar(field, required);
        return value?.Value;
    }

    public int? Int(string field, bool required = false, int minimum = int.MinValue)
    {
        var value = Scalar(field, required);
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            throw Error(field, value, $"expected an integer, got '{value.Value}'");
        }

        return number >= minimum ? number : throw Error(field, value, $"must be at least {minimum}, got {number}");
    }

    public double? Double(string field, bool required = false, double exclusiveMinimum = double.NegativeInfinity)
    {
        var value = Scalar(field, required);
        if (value is null)
        {
            return null;
        }

        if (!double.TryParse(value.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw Error(field, value, $"expected a number, got '{value.Value}'");
        }

        return number > exclusiveMinimum ? number : throw Error(field, value, $"must be greater than {exclusiveMinimum}, got {number}");
    }

    public bool Bool(string field)
    {
        var value = Scalar(field, required: false);
        return value?.Value switch
        {
            null => false,
            "true" => true,
            "false" => false,
            _ => throw Error(field, value, $"expected true or false, got '{value.Value}'"),
        };
    }

    public IReadOnlyList<string> Strings(string field, IReadOnlyCollection<string>? allowed = null)
    {
        var node1 = Node(field, required: false);
        if (node1 is null)
        {
            return [];
        }

        if (node1 is not YamlSequenceNode sequence)
        {
            throw Error(field, node1, "expected a list");
        }

        var values = new List<string>();
        foreach (var item in sequence)
        {
            if (item is not YamlScalarNode { Value: { Length: > 0 } text })
            {
                throw Error(field, item, "expected a list of non-empty strings");
            }

            if (allowed is not null && !allowed.Contains(text))
            {
                throw Error(field, item, $"'{text}' is not one of {string.Join(", ", allowed)}");
            }

            values.Add(text);
        }

        return values;
    }

    public YamlEntry? Mapping(string field)
    {
        var value = Node(field, required: false);
        return value switch
        {
            null => null,
            YamlMappingNode mapping => new YamlEntry(file, $"{Label}.{field}", mapping),
            _ => throw Error(field, value, "expected a mapping"),
        };
    }

    /// <summary>Fails on any field no reader asked for.</summary>
    public void RejectUnknownFields()
    {
        foreach (var (key, _) in node.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (!_read.Contains(name))
            {
                throw new CatalogFormatException(file, Label, name, key.Start.Line, "unknown field");
            }
        }
    }

    /// <summary>An error about the entry as a whole, located at its first line.</summary>
    public CatalogFormatException EntryError(string field, string problem) => new(file, Label, field, Line, problem);

    public CatalogFormatException Error(string field, YamlNode at, string problem) =>
        new(file, Label, field, at.Start.Line, problem);

    private YamlScalarNode? Scalar(string field, bool required)
    {
        var value = Node(field, required);
        return value switch
        {
            null => null,
            YamlScalarNode { Value: { Length: > 0 } } scalar => scalar,
            YamlScalarNode when required => throw Error(field, value, "must not be empty"),
            YamlScalarNode => null,
            _ => throw Error(field, value, "expected a single value"),
        };
    }

    private YamlNode? Node(string field, bool required)
    {
        _read.Add(field);
        if (node.Children.TryGetValue(new YamlScalarNode(field), out var value))
        {
            return value;
        }

        return required ? throw new CatalogFormatException(file, Label, field, node.Start.Line, "is required") : null;
    }
}
