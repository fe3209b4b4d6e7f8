using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Kaito.Api.Crds;

/// <summary>Reads the <c>///</c> summaries the compiler writes next to an assembly, to become schema descriptions.</summary>
public sealed partial class XmlDocumentation
{
    private readonly Dictionary<string, string> _summaries;

    private XmlDocumentation(Dictionary<string, string> summaries) => _summaries = summaries;

    /// <summary>Loads the documentation file of <paramref name="assembly"/> (its .xml beside the .dll).</summary>
    public static XmlDocumentation For(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var file = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(file))
        {
            throw new FileNotFoundException(
                $"The XML documentation of {assembly.GetName().Name} is missing at {file}; build it with GenerateDocumentationFile.", file);
        }

        var summaries = XDocument.Load(file).Descendants("member")
            .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
            .ToDictionary(m => m.Attribute("name")!.Value, m => Normalise(m.Element("summary")!));
        return new XmlDocumentation(summaries);
    }

    /// <summary>The summary of a type, or null.</summary>
    public string? Of(Type type) => _summaries.GetValueOrDefault($"T:{type.FullName}");

    /// <summary>The summary of a property, or null.</summary>
    public string? Of(PropertyInfo property) => _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}");

    private static string Normalise(XElement summary)
    {
        foreach (var reference in summary.Descendants().Where(e => e.Name == "see" || e.Name == "paramref").ToList())
        {
            var target = reference.Attribute("cref")?.Value ?? reference.Attribute("name")?.Value ?? "";
            reference.ReplaceWith(target[(target.LastIndexOfAny(['.', ':']) + 1)..]);
        }

        return Whitespace().Replace(summary.Value, " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
