using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Kaito.Deploy;

/// <summary>
/// Renders Kaito's chart as Helm would, for the subset of Go templates the chart is written in (so that
/// <c>helm template</c> and this renderer agree, and <c>kubectl apply</c> users need no Helm):
/// <c>{{ .Values.a.b }}</c>, <c>{{ .Values.a.b | quote }}</c>, <c>{{ .Release.Namespace }}</c>, <c>{{ .Release.Name }}</c>,
/// <c>{{ .Chart.Version }}</c>, <c>{{ .Chart.AppVersion }}</c>, and whole-line <c>{{- if .Values.a.b }}</c> …
/// <c>{{- end }}</c> blocks (not nested; trimming markers nowhere else). Any other action is refused, naming the template and line, so the chart
/// cannot drift into Go template features this renderer does not implement.
/// </summary>
public static partial class ChartRenderer
{
    /// <summary>Renders <paramref name="template"/> (named <paramref name="name"/> in errors) with <paramref name="values"/>.</summary>
    /// <exception cref="FormatException">An action outside the subset, an unknown value, or an unclosed block.</exception>
    public static string Render(string name, string template, ChartValues values, string releaseNamespace, string releaseName, string chartVersion)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(values);
        var output = new StringBuilder();
        var lines = template.Split('\n');
        bool? including = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (IfPattern().Match(trimmed) is { Success: true } condition)
            {
                if (including is not null)
                {
                    throw new FormatException($"{name}:{i + 1}: nested if blocks are not in the chart's template subset");
                }

                including = Truthy(values.Lookup(condition.Groups[1].Value, name, i + 1));
                continue;
            }

            if (trimmed == "{{- end }}")
            {
                including = including is null ? throw new FormatException($"{name}:{i + 1}: end without if") : null;
                continue;
            }

            if (including == false)
            {
                continue;
            }

            var lineNumber = i + 1;
            if (line.Contains("{{-", StringComparison.Ordinal) || line.Contains("-}}", StringComparison.Ordinal))
            {
                throw new FormatException($"{name}:{lineNumber}: whitespace trimming ({{{{- or -}}}}) is only in the chart's subset on whole-line if/end");
            }

            output.Append(ActionPattern().Replace(line, action => Substitute(action.Groups[1].Value.Trim(), values, releaseNamespace, releaseName, chartVersion, name, lineNumber)));
            if (i < lines.Length - 1)
            {
                output.Append('\n');
            }
        }

        return including is not null ? throw new FormatException($"{name}: an if block is not closed") : output.ToString();
    }

    private static string Substitute(string action, ChartValues values, string releaseNamespace, string releaseName, string chartVersion, string name, int line)
    {
        var quote = action.EndsWith("| quote", StringComparison.Ordinal);
        var path = quote ? action[..^"| quote".Length].Trim() : action;
        string value = path switch
        {
            ".Release.Namespace" => releaseNamespace,
            ".Release.Name" => releaseName,
            ".Chart.Version" or ".Chart.AppVersion" => chartVersion,
            _ when path.StartsWith(".Values.", StringComparison.Ordinal) => Scalar(values.Lookup(path[".Values.".Length..], name, line)),
            _ => throw new FormatException($"{name}:{line}: '{{{{ {action} }}}}' is not in the chart's template subset"),
        };
        return quote ? Quote(value) : value;
    }

    private static string Scalar(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new FormatException($"a value used in a template must be a scalar, not {value.GetType().Name}"),
    };

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        int i => i != 0,
        long l => l != 0,
        IReadOnlyDictionary<string, object?> map => map.Count > 0,
        IReadOnlyList<object?> list => list.Count > 0,
        _ => true,
    };

    /// <summary>Go's <c>quote</c> (strconv.Quote): a double-quoted string with escapes.</summary>
    private static string Quote(string value)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in value)
        {
            builder.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return builder.Append('"').ToString();
    }

    [GeneratedRegex(@"^\{\{-? if \.Values\.([A-Za-z0-9_.]+) -?\}\}$")]
    private static partial Regex IfPattern();

    [GeneratedRegex(@"\{\{-?([^}]*)-?\}\}")]
    private static partial Regex ActionPattern();
}

/// <summary>A chart's values: values.yaml, with <c>--set</c>-style overrides (<c>a.b=c</c>) on top.</summary>
public sealed class ChartValues
{
    private readonly Dictionary<string, object?> _root;

    private ChartValues(Dictionary<string, object?> root) => _root = root;

    /// <summary>Parses values.yaml (<paramref name="source"/> names it in errors).</summary>
    /// <exception cref="FormatException">Not YAML, or not a mapping at its top.</exception>
    public static ChartValues Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new FormatException($"{source}:{e.Start.Line}: {e.Message}", e);
        }

        return stream.Documents.Count == 0 ? new ChartValues([])
            : Convert(stream.Documents[0].RootNode) is Dictionary<string, object?> map ? new ChartValues(map)
            : throw new FormatException($"{source}: values must be a mapping");
    }

    /// <summary>A copy with <paramref name="overrides"/> (<c>path</c> → value, as <c>helm --set</c>) applied.</summary>
    public ChartValues With(IReadOnlyDictionary<string, string> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var copy = DeepCopy(_root);
        foreach (var (path, value) in overrides)
        {
            var parts = path.Split('.');
            var map = copy;
            foreach (var part in parts[..^1])
            {
                map = map.TryGetValue(part, out var child) && child is Dictionary<string, object?> next ? next : (Dictionary<string, object?>)(map[part] = new Dictionary<string, object?>());
            }

            map[parts[^1]] = value switch
            {
                "true" => true,
                "false" => false,
                _ when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
                _ => value,
            };
        }

        return new ChartValues(copy);
    }

    /// <summary>The value at <paramref name="path"/> (<c>a.b</c>); a missing key is an error, as the chart names only what values.yaml declares.</summary>
    public object? Lookup(string path, string template, int line)
    {
        ArgumentNullException.ThrowIfNull(path);
        object? current = _root;
        foreach (var part in path.Split('.'))
        {
            current = current is Dictionary<string, object?> map && map.TryGetValue(part, out var child)
                ? child
                : throw new FormatException($"{template}:{line}: .Values.{path} is not in values.yaml");
        }

        return current;
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => mapping.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => Convert(e.Value), StringComparer.Ordinal),
        YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar => scalar.Value switch
        {
            "true" => true,
            "false" => false,
            "null" or "~" or "" => null,
            var text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
            var text => text,
        },
        YamlScalarNode scalar => scalar.Value,
        _ => null,
    };

    private static Dictionary<string, object?> DeepCopy(Dictionary<string, object?> map) =>
        map.ToDictionary(e => e.Key, e => e.Value is Dictionary<string, object?> child ? DeepCopy(child) : e.Value, StringComparer.Ordinal);
}
