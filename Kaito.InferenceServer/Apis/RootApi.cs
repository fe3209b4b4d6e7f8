namespace Kaito.InferenceServer.Apis;

/// <summary><c>GET /</c>, as KAITO's servers answer it: a liveness hint for humans and curl.</summary>
public static class RootApi
{
    public static IEndpointRouteBuilder MapRootApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/", () => TypedResults.Ok(new ServerStatus("Server is running")));
        return endpoints;
    }
}
