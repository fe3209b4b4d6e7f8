namespace Kaito.LocalCluster.Apis;

/// <summary>Routes the resource URLs of every group version to <see cref="ResourceHandler"/>.</summary>
public static class ResourceApi
{
    public static IEndpointRouteBuilder MapResourceApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        endpoints.Map("/api/{version}/{**path}", (HttpContext context, string version, string path, ResourceHandler handler) =>
            handler.HandleAsync(context, "", version, path));
        endpoints.Map("/apis/{group}/{version}/{**path}", (HttpContext context, string group, string version, string path, ResourceHandler handler) =>
            handler.HandleAsync(context, group, version, path));
        return endpoints;
    }
}
