using Kaito.LocalCluster.Storage;
using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Resources;

/// <summary>
/// The resources LocalCluster serves: the built-in ones, plus one per established CustomResourceDefinition. Readers get
/// an immutable snapshot, so discovery and request routing never see a half-registered CRD.
/// </summary>
public sealed class ResourceRegistry
{
    private ImmutableList<ResourceType> _types = [.. BuiltInTypes.All];

    public IReadOnlyList<ResourceType> Types => _types;

    /// <summary>The type serving <paramref name="plural"/> in <paramref name="group"/>/<paramref name="version"/>, or null.</summary>
    public ResourceType? Find(string group, string version, string plural) =>
        _types.FirstOrDefault(t => t.Group == group && t.Plural == plural && t.Versions.Contains(version));

    public ResourceType? FindByGroupResource(string groupResource) => _types.FirstOrDefault(t => t.GroupResource == groupResource);

    /// <summary>Serves the resource a CRD defines (replacing an earlier definition of the same CRD).</summary>
    public ResourceType Register(JsonObject crd)
    {
        var type = FromDefinition(crd);
        ImmutableInterlocked.Update(ref _types, types =>
            types.RemoveAll(t => t.DefinedBy == type.DefinedBy || t.GroupResource == type.GroupResource && t.DefinedBy is not null).Add(type));
        return type;
    }

    public void Unregister(string crdName) => ImmutableInterlocked.Update(ref _types, types => types.RemoveAll(t => t.DefinedBy == crdName));

    /// <summary>The groups with their versions, the core group excluded, in registration order.</summary>
    public IEnumerable<(string Group, IReadOnlyList<string> Versions)> Groups() =>
        _types.Where(t => t.Group.Length > 0).GroupBy(t => t.Group)
            .Select(g => (g.Key, (IReadOnlyList<string>)g.SelectMany(t => t.Versions).Distinct().OrderBy(VersionPriority).ToList()));

    /// <summary>Kubernetes' version ordering: GA before beta before alpha, higher numbers first.</summary>
    public static int VersionPriority(string version)
    {
        var match = System.Text.RegularExpressions.Regex.Match(version, "^v(\\d+)(?:(alpha|beta)(\\d+))?$");
        if (!match.Success)
        {
            return 1_000_000;
        }

        var major = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var stage = match.Groups[2].Value switch { "" => 0, "beta" => 1, _ => 2 };
        var minor = match.Groups[3].Success ? int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return stage * 100_000 - major * 100 - minor;
    }

    private static ResourceType FromDefinition(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var versions = spec["versions"]!.AsArray().Select(v => v!.AsObject()).Where(v => v["served"]?.GetValue<bool>() != false).ToList();
        var storage = versions.FirstOrDefault(v => v["storage"]?.GetValue<bool>() == true) ?? versions[0];
        var ordered = versions.OrderBy(v => v == storage ? 0 : 1).ToList();

        return new ResourceType
        {
            Group = (string)spec["group"]!,
            Versions = ordered.Select(v => (string)v["name"]!).ToList(),
            Kind = (string)names["kind"]!,
            Plural = (string)names["plural"]!,
            Singular = (string?)names["singular"] ?? ((string)names["kind"]!).ToLowerInvariant(),
            Namespaced = (string?)spec["scope"] != "Cluster",
            ShortNames = Strings(names["shortNames"]),
            Categories = Strings(names["categories"]),
            HasStatus = ordered.Any(v => v["subresources"]?["status"] is not null),
            Schemas = ordered.Where(v => v["schema"]?["openAPIV3Schema"] is JsonObject)
                .ToDictionary(v => (string)v["name"]!, v => v["schema"]!["openAPIV3Schema"]!.AsObject()),
            PrinterColumns = ordered.ToDictionary(v => (string)v["name"]!, v => (IReadOnlyList<PrinterColumn>)
                (v["additionalPrinterColumns"]?.AsArray() ?? []).Select(c => new PrinterColumn(
                    (string)c!["name"]!, (string?)c["type"] ?? "string", (string)c["jsonPath"]!,
                    (string?)c["description"], (string?)c["format"], JsonNumbers.ReadInt(c["priority"]) ?? 0)).ToList()),
            DefinedBy = (string)crd["metadata"]!["name"]!,
        };
    }

    private static List<string> Strings(JsonNode? node) => node?.AsArray().Select(n => (string)n!).ToList() ?? [];
}
