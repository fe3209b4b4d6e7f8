using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Resources;

/// <summary>
/// One servable resource: where it lives in the API (group, versions, plural), how it is named, whether it is
/// namespaced, its subresources, and for custom resources the schema, printer columns and defaults of each version.
/// </summary>
public sealed record ResourceType
{
    /// <summary>The API group; empty for the core group.</summary>
    public required string Group { get; init; }

    /// <summary>Served versions, the storage version first.</summary>
    public required IReadOnlyList<string> Versions { get; init; }

    public required string Kind { get; init; }

    public required string Plural { get; init; }

    public required string Singular { get; init; }

    public required bool Namespaced { get; init; }

    public IReadOnlyList<string> ShortNames { get; init; } = [];

    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>The <c>status</c> subresource: the main endpoint ignores status, <c>/status</c> ignores the rest.</summary>
    public bool HasStatus { get; init; }

    /// <summary>Other subresources (pods: log, binding).</summary>
    public IReadOnlyList<string> ExtraSubresources { get; init; } = [];

    /// <summary>Per-version OpenAPI v3 schema (custom resources); null for built-in kinds, which are not pruned.</summary>
    public IReadOnlyDictionary<string, JsonObject>? Schemas { get; init; }

    /// <summary>Per-version printer columns (custom resources).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PrinterColumn>>? PrinterColumns { get; init; }

    /// <summary>The CRD this type comes from, when it is a custom resource.</summary>
    public string? DefinedBy { get; init; }

    /// <summary>The storage key of the resource, independent of version: <c>group/plural</c>.</summary>
    public string GroupResource => $"{Group}/{Plural}";

    public string StorageVersion => Versions[0];

    public string ApiVersionFor(string version) => Group.Length == 0 ? version : $"{Group}/{version}";

    /// <summary>The path prefix of a version: <c>/api/v1</c> or <c>/apis/group/version</c>.</summary>
    public string PathPrefix(string version) => Group.Length == 0 ? $"/api/{version}" : $"/apis/{Group}/{version}";

    public static readonly IReadOnlyList<string> AllVerbs =
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
}

/// <summary>A column <c>kubectl get</c> prints for a custom resource.</summary>
public sealed record PrinterColumn(string Name, string Type, string JsonPath, string? Description, string? Format, int Priority);
