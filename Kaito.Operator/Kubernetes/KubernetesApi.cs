using k8s;

namespace Kaito.Operator.Kubernetes;

/// <summary>
/// KubernetesClient's client, plus raw requests to any resource path through the same authenticated pipeline (token
/// refresh, exec plugins, TLS): informers list and watch every kind, core and custom alike, with the parameters
/// KubernetesClient's generated methods do not all expose (bookmarks, paging, resource versions).
/// </summary>
public sealed class KubernetesApi(KubernetesClientConfiguration configuration, string? userAgent = null)
    : k8s.Kubernetes(configuration, userAgent is null ? [] : [new UserAgentHandler(userAgent)])
{
    /// <summary>Sends a request to <paramref name="relativeUri"/> (e.g. <c>apis/kaito.sh/v1beta1/workspaces?watch=true</c>).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string relativeUri, object? body, CancellationToken cancellationToken) =>
        SendRequest(relativeUri, method, customHeaders: null, body, cancellationToken);
}

/// <summary>Names the component to the API server (its audit log and request metrics), as client-go's user agents do.</summary>
internal sealed class UserAgentHandler(string userAgent) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.UserAgent.Clear();
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        return base.SendAsync(request, cancellationToken);
    }
}
