using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// The discovery part of the Kubernetes API, what kubectl and KubernetesClient read first: versions, groups and the
/// resources of each group version, built-in and custom alike.
/// </summary>
public static class DiscoveryApi
{
    public static IEndpointRouteBuilder MapDiscoveryApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        endpoints.MapGet("/version", (IOptions<LocalClusterOptions> options) => TypedResults.Ok(VersionInfo.For(options.Value.KubernetesVersion)));
        endpoints.MapGet("/api", (HttpContext context) => Json(new JsonObject
        {
            ["kind"] = "APIVersions",
            ["versions"] = new JsonArray("v1"),
            ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
            {
                ["clientCIDR"] = "0.0.0.0/0",
                ["serverAddress"] = context.Request.Host.Value ?? "127.0.0.1",
            }),
        }));
        endpoints.MapGet("/api/v1", (ResourceRegistry registry) => Json(ResourceList(registry, "", "v1")));
        endpoints.MapGet("/apis", (ResourceRegistry registry) => Json(new JsonObject
        {
            ["kind"] = "APIGroupList",
            ["apiVersion"] = "v1",
            ["groups"] = new JsonArray(registry.Groups().Select(g => (JsonNode)Group(g.Group, g.Versions)).ToArray()),
        }));
        endpoints.MapGet("/apis/{group}", (string group, ResourceRegistry registry) =>
            registry.Groups().FirstOrDefault(g => g.Group == group) is { Group: not null } found
                ? Json(Group(found.Group, found.Versions))
                : NotFound());
        endpoints.MapGet("/apis/{group}/{version}", (string group, string version, ResourceRegistry registry) =>
            registry.Types.Any(t => t.Group == group && t.Versions.Contains(version))
                ? Json(ResourceList(registry, group, version))
                : NotFound());
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok"));
        endpoints.MapGet("/metrics", (ApiRequestMetrics metrics) => TypedResults.Text(metrics.Render(), "text/plain; version=0.0.4"));
        endpoints.MapGet("/livez", () => TypedResults.Text("ok"));
        endpoints.MapGet("/readyz", () => TypedResults.Text("ok"));
        return endpoints;
    }

    internal static IResult Json(JsonNode body) => Results.Content(body.ToJsonString(), "application/json");

    private static IResult NotFound() =>
        Results.Content(new ApiException(404, "NotFound", "the server could not find the requested resource").ToStatus().ToJsonString(), "application/json", statusCode: 404);

    private static JsonObject Group(string name, IReadOnlyList<string> versions)
    {
        var list = new JsonArray(versions.Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{name}/{v}", ["version"] = v }).ToArray());
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = name,
            ["versions"] = list,
            ["preferredVersion"] = list[0]!.DeepClone(),
        };
    }

    private static JsonObject ResourceList(ResourceRegistry registry, string group, string version)
    {
        var resources = new JsonArray();
        foreach (var type in registry.Types.Where(t => t.Group == group && t.Versions.Contains(version)))
        {
            var resource = new JsonObject
            {
                ["name"] = type.Plural,
                ["singularName"] = type.Singular,
                ["namespaced"] = type.Namespaced,
                ["kind"] = type.Kind,
                ["verbs"] = new JsonArray(ResourceType.AllVerbs.Select(v => (JsonNode?)v).ToArray()),
            };
            if (type.ShortNames.Count > 0)
            {
                resource["shortNames"] = new JsonArray(type.ShortNames.Select(s => (JsonNode?)s).ToArray());
            }

            if (type.Categories.Count > 0)
            {
                resource["categories"] = new JsonArray(type.Categories.Select(s => (JsonNode?)s).ToArray());
            }

            resources.Add(resource);
            if (type.HasStatus)
            {
                resources.Add(Subresource(type, "status", "get", "patch", "update"));
            }

            foreach (var extra in type.ExtraSubresources)
            {
                resources.Add(Subresource(type, extra, extra is "binding" or "token" ? ["create"] : ["get"]));
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    private static JsonObject Subresource(ResourceType type, string name, params string[] verbs) => new()
    {
        ["name"] = $"{type.Plural}/{name}",
        ["singularName"] = "",
        ["namespaced"] = type.Namespaced,
        ["kind"] = name == "binding" ? "Binding" : type.Kind,
        ["verbs"] = new JsonArray(verbs.Select(v => (JsonNode?)v).ToArray()),
    };
}
