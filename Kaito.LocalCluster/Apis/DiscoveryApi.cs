using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// The discovery part of the Kubernetes API: what kubectl and KubernetesClient read before anything else.
/// </summary>
public static class DiscoveryApi
{
    public static IEndpointRouteBuilder MapDiscoveryApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        endpoints.MapGet("/version", GetVersion);
        endpoints.MapGet("/api", GetCoreVersions);
        endpoints.MapGet("/api/v1", GetCoreResources);
        endpoints.MapGet("/apis", GetGroups);
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok"));
        endpoints.MapGet("/livez", () => TypedResults.Text("ok"));
        endpoints.MapGet("/readyz", () => TypedResults.Text("ok"));
        return endpoints;
    }

    private static Ok<VersionInfo> GetVersion(IOptions<LocalClusterOptions> options) =>
        TypedResults.Ok(VersionInfo.For(options.Value.KubernetesVersion));

    private static Ok<ApiVersions> GetCoreVersions(HttpContext context) =>
        TypedResults.Ok(new ApiVersions(
            ["v1"],
            [new ServerAddressByClientCidr("0.0.0.0/0", context.Request.Host.Value ?? "127.0.0.1")]));

    private static Ok<ApiResourceList> GetCoreResources() => TypedResults.Ok(new ApiResourceList("v1", []));

    private static Ok<ApiGroupList> GetGroups() => TypedResults.Ok(new ApiGroupList([]));
}
