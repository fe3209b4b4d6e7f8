using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Honours ValidatingWebhookConfigurations: before a matching create or update, sends an AdmissionReview v1 to the
/// webhook's URL, or to its Service (<c>https://&lt;name&gt;.&lt;namespace&gt;.svc:&lt;port&gt;&lt;path&gt;</c>, the name
/// resolved to the Service's ClusterIP, where LocalCluster's proxy forwards to a ready endpoint), trusting its caBundle and refuses the write with the webhook's message when it denies it. A webhook
/// that cannot be reached, redirects, answers garbage or has an unusable caBundle fails the write unless its
/// failurePolicy is Ignore.
/// </summary>
public sealed partial class AdmissionWebhooks(ClusterStore store, ILogger<AdmissionWebhooks> logger) : IDisposable
{
    private const string Configurations = "admissionregistration.k8s.io/validatingwebhookconfigurations";
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new();

    public async Task ValidateAsync(ResourceRequest request, string operation, JsonObject item, JsonObject? old,
        HttpContext context, CancellationToken cancellationToken)
    {
        foreach (var configuration in store.List(Configurations, null).Items)
        {
            foreach (var webhook in (configuration["webhooks"]?.AsArray() ?? []).Select(w => w!.AsObject()))
            {
                if (Applies(webhook, request, operation, item))
                {
                    await CallAsync(webhook, request, operation, item, old, context, cancellationToken);
                }
            }
        }
    }

    private async Task CallAsync(JsonObject webhook, ResourceRequest request, string operation, JsonObject item, JsonObject? old,
        HttpContext context, CancellationToken cancellationToken)
    {
        var name = (string?)webhook["name"] ?? "";
        var ignoreFailures = (string?)webhook["failurePolicy"] == "Ignore";
        var uid = Guid.NewGuid().ToString();
        JsonObject? response;
        try
        {
            var url = (string?)webhook["clientConfig"]?["url"] ?? ServiceUrl(webhook["clientConfig"]?["service"])
                ?? throw new InvalidOperationException("the webhook's clientConfig names neither a url nor a service");
            var client = _clients.GetOrAdd((string?)webhook["clientConfig"]?["caBundle"] ?? "", CreateClient);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(JsonNumbers.ReadInt(webhook["timeoutSeconds"]) ?? 10));
            using var reply = await client.PostAsJsonAsync(url, Review(uid, request, operation, item, old), timeout.Token);
            if ((int)reply.StatusCode is >= 300 and < 400)
            {
                throw new HttpRequestException($"the webhook answered {(int)reply.StatusCode} (a redirect, which is not followed)");
            }

            reply.EnsureSuccessStatusCode();
            response = (await reply.Content.ReadFromJsonAsync<JsonObject>(timeout.Token))?["response"]?.AsObject()
                ?? throw new InvalidOperationException("the webhook answered without a response");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or InvalidOperationException or System.Text.Json.JsonException
                                       or FormatException or System.Security.Cryptography.CryptographicException
                                       && !cancellationToken.IsCancellationRequested)
        {
            LogWebhookFailed(logger, name, ex.Message);
            if (ignoreFailures)
            {
                return;
            }

            throw new ApiException(500, "InternalError", $"Internal error occurred: failed calling webhook \"{name}\": {ex.Message}");
        }

        foreach (var warning in (response["warnings"]?.AsArray() ?? []).Take(32).Select(w => w is JsonValue v && v.TryGetValue<string>(out var text) ? text : ""))
        {
            WarningHeaders.Add(context, warning);
        }

        if (!(response["allowed"] is JsonValue allowed && allowed.TryGetValue<bool>(out var isAllowed) && isAllowed))
        {
            var status = response["status"];
            var code = JsonNumbers.ReadInt(status?["code"]) is >= 400 and < 600 and var c ? c : 400;
            var message = status?["message"] is JsonValue m && m.TryGetValue<string>(out var text) ? text : "";
            throw new ApiException(code, ReasonFor(code), $"admission webhook \"{name}\" denied the request: {message}");
        }
    }

    private static JsonObject Review(string uid, ResourceRequest request, string operation, JsonObject item, JsonObject? old)
    {
        var gvk = new JsonObject { ["group"] = request.Type.Group, ["version"] = request.Version, ["kind"] = request.Type.Kind };
        var gvr = new JsonObject { ["group"] = request.Type.Group, ["version"] = request.Version, ["resource"] = request.Type.Plural };
        var reviewed = item.DeepClone().AsObject();
        reviewed["apiVersion"] = request.ApiVersion;
        return new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = gvk,
                ["resource"] = gvr,
                ["requestKind"] = gvk.DeepClone(),
                ["requestResource"] = gvr.DeepClone(),
                ["subResource"] = request.Subresource,
                ["name"] = (string?)item["metadata"]?["name"],
                ["namespace"] = request.Namespace,
                ["operation"] = operation,
                ["userInfo"] = new JsonObject { ["username"] = "kaito-local-cluster-admin", ["groups"] = new JsonArray("system:masters", "system:authenticated") },
                ["object"] = reviewed,
                ["oldObject"] = old?.DeepClone(),
                ["dryRun"] = false,
            },
        };
    }

    private static bool Applies(JsonObject webhook, ResourceRequest request, string operation, JsonObject item)
    {
        if (webhook["objectSelector"]?["matchLabels"] is JsonObject labels &&
            labels.Any(l => (string?)item["metadata"]?["labels"]?[l.Key] != (string?)l.Value))
        {
            return false;
        }

        return (webhook["rules"]?.AsArray() ?? []).Any(rule =>
            Contains(rule!["apiGroups"], request.Type.Group) &&
            Contains(rule["apiVersions"], request.Version) &&
            Contains(rule["operations"], operation) &&
            (Contains(rule["resources"], request.Type.Plural) || request.Subresource is not null && Contains(rule["resources"], $"{request.Type.Plural}/{request.Subresource}")) &&
            ((string?)rule["scope"] ?? "*") switch
            {
                "Namespaced" => request.Type.Namespaced,
                "Cluster" => !request.Type.Namespaced,
                _ => true,
            });

        static bool Contains(JsonNode? list, string value) =>
            list?.AsArray().Any(v => (string?)v is "*" || (string?)v == value) == true;
    }

    private HttpClient CreateClient(string caBundle)
    {
        var handler = Kaito.ServiceDefaults.TrustedAuthorities.Handler(caBundle.Length == 0 ? null
            : Kaito.ServiceDefaults.TrustedAuthorities.FromPem(System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(caBundle))));
        handler.ConnectCallback = async (connection, token) =>
        {
            // <name>.<namespace>.svc is the Service's ClusterIP, as cluster DNS answers the API server; anything else as named.
            var host = connection.DnsEndPoint.Host;
            var address = host.Split('.') is [var name, var ns, "svc", ..] && store.Get(new ObjectKey("/services", ns, name)) is { } service
                ? (string?)service["spec"]?["clusterIP"] is { } clusterIp && System.Net.IPAddress.TryParse(clusterIp, out var ip) ? ip
                    : throw new HttpRequestException($"Service {ns}/{name} has no ClusterIP")
                : null;
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (address is not null)
                {
                    await socket.ConnectAsync(new System.Net.IPEndPoint(address, connection.DnsEndPoint.Port), token);
                }
                else
                {
                    await socket.ConnectAsync(connection.DnsEndPoint, token);
                }

                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return new HttpClient(handler);
    }

    private static string? ServiceUrl(JsonNode? service)
    {
        if (service is null)
        {
            return null;
        }

        var port = JsonNumbers.ReadInt(service["port"]) ?? 443;
        var path = (string?)service["path"] ?? "/";
        return $"https://{(string?)service["name"]}.{(string?)service["namespace"]}.svc:{port}{(path.StartsWith('/') ? path : "/" + path)}";
    }

    private static string ReasonFor(int code) => code switch
    {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        _ => "BadRequest",
    };

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Calling admission webhook {Webhook} failed: {Reason}")]
    private static partial void LogWebhookFailed(ILogger logger, string webhook, string reason);
}
