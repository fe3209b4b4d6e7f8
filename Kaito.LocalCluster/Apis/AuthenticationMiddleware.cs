using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Requires the cluster's bearer token on the resource API, as kube-apiserver does; the public endpoints
/// (<c>/version</c>, <c>/healthz</c>, <c>/livez</c>, <c>/readyz</c>) and the service's own probes stay anonymous.
/// </summary>
public static class AuthenticationMiddleware
{
    private static readonly string[] s_anonymous = ["/version", "/healthz", "/livez", "/readyz", "/health", "/alive"];

    public static IApplicationBuilder UseClusterAuthentication(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        var credentials = app.ApplicationServices.GetRequiredService<ClusterCredentials>();
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (s_anonymous.Any(p => path.StartsWithSegments(p, StringComparison.Ordinal)) ||
                credentials.Accepts(context.Request.Headers.Authorization))
            {
                await next(context);
                return;
            }

            await ResourceHandler.WriteAsync(context, 401, new ApiException(401, "Unauthorized", "Unauthorized").ToStatus());
        });
    }
}
