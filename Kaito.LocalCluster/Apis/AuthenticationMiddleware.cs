using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Requires the cluster's bearer token on the resource API, as kube-apiserver does; the public endpoints
/// (<c>/version</c>, <c>/healthz</c>, <c>/livez</c>, <c>/readyz</c>) and the service's own probes stay anonymous. The
/// API is served over TLS only: a plain-HTTP listener (the AppHost's health probe) answers the anonymous endpoints and
/// refuses everything else before looking at any credential, so a token is never accepted in clear text.
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
            if (s_anonymous.Any(p => path.StartsWithSegments(p, StringComparison.Ordinal)))
            {
                await next(context);
                return;
            }

            if (!context.Request.IsHttps)
            {
                await ResourceHandler.WriteAsync(context, 403, new ApiException(403, "Forbidden",
                    "the Kubernetes API is served over TLS only: use the https address in the kubeconfig (this plain HTTP port answers health probes)").ToStatus());
                return;
            }

            if (credentials.Accepts(context.Request.Headers.Authorization))
            {
                await next(context);
                return;
            }

            await ResourceHandler.WriteAsync(context, 401, new ApiException(401, "Unauthorized", "Unauthorized").ToStatus());
        });
    }
}
