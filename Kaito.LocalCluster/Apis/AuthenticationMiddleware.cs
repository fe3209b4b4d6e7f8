using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Requires a bearer token on the resource API, as kube-apiserver does — the cluster's own (the kubeconfig's user,
/// <c>system:masters</c>) or a service account token of a pod (<see cref="ServiceAccountTokens"/>); the user is kept in
/// the request (<see cref="User"/>) for authorization. The public endpoints
/// (<c>/version</c>, <c>/healthz</c>, <c>/livez</c>, <c>/readyz</c>) and the service's own probes stay anonymous. The
/// API is served over TLS only: a plain-HTTP listener (the AppHost's health probe) answers the anonymous endpoints and
/// refuses everything else before looking at any credential, so a token is never accepted in clear text.
/// </summary>
public static class AuthenticationMiddleware
{
    private const string UserKey = "kaito.localcluster.user";

    /// <summary>Who made the request, as authenticated; anonymous (allowed nothing) when nobody was.</summary>
    public static ClusterUser User(HttpContext context) => context?.Items[UserKey] as ClusterUser ?? ClusterUser.Anonymous;

    private static readonly string[] s_anonymous = ["/version", "/healthz", "/livez", "/readyz", "/health", "/alive"];

    public static IApplicationBuilder UseClusterAuthentication(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        var credentials = app.ApplicationServices.GetRequiredService<ClusterCredentials>();
        var serviceAccounts = app.ApplicationServices.GetRequiredService<ServiceAccountTokens>();
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
                context.Items[UserKey] = ClusterUser.Admin;
                await next(context);
                return;
            }

            if (((string?)context.Request.Headers.Authorization) is { } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                && serviceAccounts.Authenticate(header["Bearer ".Length..].Trim()) is { } user)
            {
                context.Items[UserKey] = user;
                await next(context);
                return;
            }

            await ResourceHandler.WriteAsync(context, 401, new ApiException(401, "Unauthorized", "Unauthorized").ToStatus());
        });
    }
}
