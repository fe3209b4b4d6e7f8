using System.Net;
using System.Net.Sockets;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// The services/proxy and pods/proxy subresources (<c>/api/v1/namespaces/{ns}/services|pods/[https:]{name}[:port]/proxy/{path}</c>), as
/// <c>kubectl proxy</c>, dashboards and <c>kubectl kaito chat</c> use them: the request goes to the Service's ClusterIP and
/// port — on loopback, where LocalCluster's kube-proxy forwards it to a ready pod — or to the pod's IP and port, and the answer streams back as it
/// comes (server-sent events included). Only loopback addresses are ever connected to: the proxy cannot be pointed
/// anywhere else, whatever a Service says.
/// </summary>
internal static class ServiceProxyApi
{
    private static readonly HashSet<string> s_hopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Authorization",
    };

    private static readonly HttpClient s_http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectCallback = ConnectLoopbackOnlyAsync,
        // The services' own certificates are not the cluster CA's; kube-apiserver's proxy does not verify them either.
#pragma warning disable CA5359 // as kube-apiserver's service proxy: pods serve self-signed certificates, on loopback only
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    public static IEndpointRouteBuilder MapServiceProxy(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.Map("/api/v1/namespaces/{ns}/services/{name}/proxy/{**path}", (HttpContext context, string ns, string name, string? path, ClusterStore store, RbacAuthorizer authorizer) =>
            ProxyAsync(context, "service", () => Authorized(context, authorizer, "services", ns, name, () => Target(store, ns, name, path ?? "", context.Request.QueryString.Value ?? ""))));
        endpoints.Map("/api/v1/namespaces/{ns}/pods/{name}/proxy/{**path}", (HttpContext context, string ns, string name, string? path, ClusterStore store, RbacAuthorizer authorizer) =>
            ProxyAsync(context, "pod", () => Authorized(context, authorizer, "pods", ns, name, () => PodTarget(store, ns, name, path ?? "", context.Request.QueryString.Value ?? ""))));
        return endpoints;
    }

    /// <summary>The proxy subresource under RBAC, as kube-apiserver authorizes it: the HTTP method's verb on <c>services/proxy</c> or <c>pods/proxy</c>.</summary>
    private static Uri Authorized(HttpContext context, RbacAuthorizer authorizer, string resource, string ns, string name, Func<Uri> target)
    {
        var verb = context.Request.Method switch { "GET" or "HEAD" => "get", "POST" => "create", "PUT" => "update", "PATCH" => "patch", "DELETE" => "delete", _ => "get" };
        authorizer.Authorize(AuthenticationMiddleware.User(context), new AuthorizationAttributes(verb, "", resource, "proxy", ns, name));
        return target();
    }

    private static async Task ProxyAsync(HttpContext context, string kind, Func<Uri> target)
    {
        try
        {
            var uri = target();
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), uri);
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                request.Content = new StreamContent(context.Request.Body);
            }

            foreach (var (name, values) in context.Request.Headers)
            {
                if (!s_hopByHop.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values);
                }
            }

            using var response = await s_http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!s_hopByHop.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = new byte[16384];
            int read;
            while ((read = await body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (ApiException ex)
        {
            await ResourceHandler.WriteAsync(context, ex.Code, ex.ToStatus());
        }
        catch (HttpRequestException ex) when (!context.Response.HasStarted)
        {
            await ResourceHandler.WriteAsync(context, 503, new ApiException(503, "ServiceUnavailable", $"error trying to reach {kind}: {ex.Message}").ToStatus());
        }
    }

    /// <summary><c>[scheme:]name[:port]</c>, as kube-apiserver reads a proxy target.</summary>
    private static (string Scheme, string Name, string Port) Parse(string target, string kind)
    {
        var parts = target.Split(':');
        var (scheme, name, port) = parts.Length switch
        {
            1 => ("http", parts[0], ""),
            2 => ("http", parts[0], parts[1]),
            3 => (parts[0], parts[1], parts[2]),
            _ => throw ApiException.BadRequest($"invalid {kind} request {target}"),
        };
        return scheme is "http" or "https" ? (scheme, name, port) : throw ApiException.BadRequest($"invalid scheme {scheme} in {target}");
    }

    /// <summary>
    /// The pod IP URL for <c>[scheme:]name[:port]</c>: the port by number or by a container port's name, 80 when not
    /// given (as kube-apiserver's pod proxy). The pod must be running with its loopback pod IP.
    /// </summary>
    private static Uri PodTarget(ClusterStore store, string ns, string target, string path, string query)
    {
        var (scheme, name, port) = Parse(target, "pod");
        var pod = store.Get(new ObjectKey(Kinds.Pod.GroupResource, ns, name)) ?? throw ApiException.NotFound("pods", name);
        if (!IPAddress.TryParse((string?)pod["status"]?["podIP"], out var address) || (string?)pod["status"]?["phase"] != "Running")
        {
            throw new ApiException(503, "ServiceUnavailable", $"pod {name} is not running, so it cannot be proxied to");
        }

        var number = port.Length == 0 ? 80
            : int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value is > 0 and < 65536 ? value
            : pod["spec"]?["containers"]?.AsArray().SelectMany(c => c?["ports"]?.AsArray() ?? []).OfType<System.Text.Json.Nodes.JsonObject>()
                .Where(p => (string?)p["name"] == port).Select(p => (int?)p["containerPort"]).FirstOrDefault()
                ?? throw ApiException.BadRequest($"pod {name} has no container port named {port}");
        return new Uri($"{scheme}://{address}:{number}/{path}{query}");
    }

    /// <summary>The ClusterIP URL for <c>[scheme:]name[:port]</c>, the port by name or number (the first when not given).</summary>
    private static Uri Target(ClusterStore store, string ns, string target, string path, string query)
    {
        var (scheme, name, port) = Parse(target, "service");

        var service = store.Get(new ObjectKey(Kinds.Service.GroupResource, ns, name)) ?? throw ApiException.NotFound("services", name);
        var ports = service["spec"]?["ports"]?.AsArray().OfType<System.Text.Json.Nodes.JsonObject>().ToList() ?? [];
        var chosen = port.Length == 0 ? ports.FirstOrDefault()
            : ports.FirstOrDefault(p => (string?)p["name"] == port || p["port"]?.ToString() == port);
        var clusterIp = (string?)service["spec"]?["clusterIP"];
        if (chosen is null || clusterIp is null or "None" || !IPAddress.TryParse(clusterIp, out var address))
        {
            throw new ApiException(503, "ServiceUnavailable", $"no endpoints available for service \"{target}\"");
        }

        return new Uri($"{scheme}://{address}:{chosen["port"]}/{path}{query}");
    }

    /// <summary>Connects only to loopback addresses (a Service's ClusterIP here always is); anything else is refused before a socket opens.</summary>
    internal static async ValueTask<Stream> ConnectLoopbackOnlyAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!IPAddress.TryParse(context.DnsEndPoint.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            throw new HttpRequestException($"the service proxy connects to loopback ClusterIPs only, not {context.DnsEndPoint.Host}");
        }

        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
