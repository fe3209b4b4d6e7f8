using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// OpenAPI v3 documents per group version, enough for kubectl: it finds a PATCH with the <c>fieldValidation</c>
/// parameter (so it leaves validation to the server, which checks custom resources against their schemas), the patch
/// types each resource accepts, and the schemas that <c>kubectl explain</c> prints.
/// </summary>
public static class OpenApiV3
{
    public static IEndpointRouteBuilder MapOpenApiV3(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        endpoints.MapGet("/openapi/v3", (ResourceRegistry registry) =>
        {
            var paths = new JsonObject();
            foreach (var (group, version) in GroupVersions(registry))
            {
                var relative = group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";
                paths[relative] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{relative}?hash={Hash(Document(registry, group, version))}" };
            }

            return DiscoveryApi.Json(new JsonObject { ["paths"] = paths });
        });
        endpoints.MapGet("/openapi/v3/api/{version}", (string version, ResourceRegistry registry) =>
            DiscoveryApi.Json(Document(registry, "", version)));
        endpoints.MapGet("/openapi/v3/apis/{group}/{version}", (string group, string version, ResourceRegistry registry) =>
            DiscoveryApi.Json(Document(registry, group, version)));
        return endpoints;
    }

    private static IEnumerable<(string Group, string Version)> GroupVersions(ResourceRegistry registry) =>
        registry.Types.SelectMany(t => t.Versions.Select(v => (t.Group, v))).Distinct();

    private static JsonObject Document(ResourceRegistry registry, string group, string version)
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var type in registry.Types.Where(t => t.Group == group && t.Versions.Contains(version)))
        {
            var schemaName = $"{string.Join('.', group.Split('.').Reverse())}.{version}.{type.Kind}".TrimStart('.');
            var schema = type.Schemas?.GetValueOrDefault(version)?.DeepClone().AsObject() ?? new JsonObject
            {
                ["type"] = "object",
                ["x-kubernetes-preserve-unknown-fields"] = true,
            };
            schema["x-kubernetes-group-version-kind"] = new JsonArray(new JsonObject { ["group"] = group, ["kind"] = type.Kind, ["version"] = version });
            schemas[schemaName] = schema;

            var item = type.Namespaced
                ? $"{type.PathPrefix(version)}/namespaces/{{namespace}}/{type.Plural}/{{name}}"
                : $"{type.PathPrefix(version)}/{type.Plural}/{{name}}";
            paths[item] = new JsonObject { ["patch"] = Patch(type, version, schemaName) };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kaito LocalCluster", ["version"] = "v1" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static JsonObject Patch(ResourceType type, string version, string schemaName)
    {
        var content = new JsonObject();
        var mediaTypes = new List<string> { Patches.JsonPatch, Patches.MergePatch, Patches.ApplyPatch };
        if (type.DefinedBy is null)
        {
            mediaTypes.Add(Patches.StrategicMergePatch);
        }

        foreach (var mediaType in mediaTypes)
        {
            content[mediaType] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } };
        }

        return new JsonObject
        {
            ["operationId"] = $"patch{type.Kind}",
            ["x-kubernetes-action"] = "patch",
            ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = type.Group, ["kind"] = type.Kind, ["version"] = version },
            ["parameters"] = new JsonArray(
                Query("dryRun"), Query("fieldManager"), Query("fieldValidation"), Query("force")),
            ["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true },
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject
                {
                    ["description"] = "OK",
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" } } },
                },
            },
        };

        static JsonObject Query(string name) => new() { ["name"] = name, ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } };
    }

    private static string Hash(JsonObject document) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(document.ToJsonString())))[..32];
}
