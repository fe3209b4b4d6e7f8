using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Kaito.Api.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kaito.Provisioner.Tests;

/// <summary>
/// ARM's agentPools REST contract and an Entra ID token endpoint, over HTTPS on loopback, for the azure provider:
/// PUT/GET/DELETE/list of <c>.../managedClusters/{cluster}/agentPools/{name}</c>, long-running operations behind
/// <c>Azure-AsyncOperation</c> (and <c>Location</c> on delete), ARM error bodies for quota, unavailable SKUs, invalid
/// names, a create already in progress (409) and throttling (429 with Retry-After), and a bearer-token check against
/// the tokens its token endpoint issued for the expected federated assertion. A pool that finishes creating registers
/// its Node in the cluster (labels, taints, the SKU's capacity, an AKS-style providerID); deleting it removes the Node.
/// </summary>
public sealed partial class ArmContractServer : IAsyncDisposable
{
    public const string Subscription = "00000000-0000-0000-0000-000000000001";
    public const string ResourceGroup = "kaito-rg";
    public const string Cluster = "kaito-aks";
    public const string Tenant = "11111111-1111-1111-1111-111111111111";
    public const string ClientId = "22222222-2222-2222-2222-222222222222";

    private readonly WebApplication _app;
    private readonly IKubernetes _cluster;
    private readonly ConcurrentDictionary<string, Pool> _pools = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Operation> _operations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Status, string Code, string Message)> _failingSizes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Method, string Path, string? Body, int Status)> _requests = new();
    private int _throttle;
    private int _gatewayErrors;
    private int _conflicts;

    private ArmContractServer(WebApplication app, IKubernetes cluster, string caFile, string assertion)
    {
        _app = app;
        _cluster = cluster;
        CaFile = caFile;
        Assertion = assertion;
    }

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The CA that signed the server's certificate (PEM), for <c>--trusted-ca-file</c>.</summary>
    public string CaFile { get; }

    /// <summary>The federated token the workload presents; the token endpoint only accepts this assertion.</summary>
    public string Assertion { get; }

    /// <summary>How long a create or delete takes.</summary>
    public TimeSpan OperationTime { get; set; } = TimeSpan.FromMilliseconds(800);

    public IReadOnlyList<(string Method, string Path, string? Body, int Status)> Requests => [.. _requests];

    public IReadOnlyCollection<string> PoolNames => [.. _pools.Keys];

    public int TokensIssued => _tokens.Count;

    /// <summary>PUTs of this vmSize fail with an ARM error.</summary>
    public void FailSize(string vmSize, int status, string code, string message) => _failingSizes[vmSize] = (status, code, message);

    /// <summary>The next <paramref name="count"/> ARM requests answer 429 with <c>Retry-After: 1</c>.</summary>
    public void Throttle(int count) => Interlocked.Exchange(ref _throttle, count);

    /// <summary>
    /// The next <paramref name="count"/> requests get what a gateway in front of ARM answers when ARM is down: 502 with
    /// an HTML page, not ARM's JSON error body.
    /// </summary>
    public void GatewayErrors(int count) => Interlocked.Exchange(ref _gatewayErrors, count);

    /// <summary>The next <paramref name="count"/> PUTs answer 409 "in progress create node pool operation".</summary>
    public void ConflictOnCreate(int count) => Interlocked.Exchange(ref _conflicts, count);

    /// <summary>A pool that exists without a claim (an orphan of an earlier run, or someone else's pool).</summary>
    public void Seed(string name, string vmSize, Dictionary<string, string> labels)
    {
        var pool = new Pool(name, new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["vmSize"] = vmSize,
                ["count"] = 1,
                ["nodeLabels"] = new JsonObject(labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
            },
        }) { State = "Succeeded" };
        _pools[name] = pool;
    }

    public static async Task<ArmContractServer> StartAsync(IKubernetes cluster, string folder)
    {
        using var certificates = Kaito.ServiceDefaults.SelfSignedCertificates.Create("arm-contract", ["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(certificates.Server.Export(X509ContentType.Pkcs12), null);
        var caFile = Path.Combine(folder, "arm-ca.pem");
        await File.WriteAllTextAsync(caFile, certificates.Authority.ExportCertificatePem());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var server = new ArmContractServer(app, cluster, caFile, $"federated-{Guid.NewGuid():N}");
        app.MapPost("/{tenant}/oauth2/v2.0/token", server.TokenAsync);
        app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (string tenant, HttpContext context) => Results.Json(new
        {
            token_endpoint = $"{server.Endpoint}{tenant}/oauth2/v2.0/token",
            issuer = $"{server.Endpoint}{tenant}/v2.0",
            authorization_endpoint = $"{server.Endpoint}{tenant}/oauth2/v2.0/authorize",
        }));
        app.Map("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{cluster}/agentPools/{name?}",
            server.AgentPoolsAsync);
        app.MapGet("/subscriptions/{subscription}/providers/Microsoft.ContainerService/locations/eastus/operations/{id}", server.OperationAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    private async Task<IResult> TokenAsync(string tenant, HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (tenant != Tenant || form["client_id"] != ClientId || form["client_assertion"] != Assertion
            || form["grant_type"] != "client_credentials" || form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Results.Json(new { error = "invalid_client", error_description = "AADSTS700213: No matching federated identity record found." }, statusCode: 401);
        }

        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _tokens[token] = true;
        return Results.Json(new { token_type = "Bearer", expires_in = 3599, ext_expires_in = 3599, access_token = token });
    }

    private async Task<IResult> AgentPoolsAsync(string subscription, string group, string cluster, string? name, HttpContext context)
    {
        var body = context.Request.ContentLength > 0 ? await new StreamReader(context.Request.Body).ReadToEndAsync() : null;
        if (Interlocked.Decrement(ref _gatewayErrors) >= 0)
        {
            _requests.Enqueue((context.Request.Method, context.Request.Path, body, 502));
            return Results.Content("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", "text/html", statusCode: 502);
        }

        var result = Handle(subscription, group, cluster, name, context, body);
        _requests.Enqueue((context.Request.Method, context.Request.Path, body, result.Status));
        foreach (var (header, value) in result.Headers)
        {
            context.Response.Headers[header] = value;
        }

        return result.Body is null ? Results.StatusCode(result.Status) : Results.Json(result.Body, statusCode: result.Status);
    }

    private Reply Handle(string subscription, string group, string cluster, string? name, HttpContext context, string? body)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.ContainsKey(authorization["Bearer ".Length..]))
        {
            return Error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or the token is not valid.");
        }

        if (Interlocked.Decrement(ref _throttle) >= 0)
        {
            return Error(429, "TooManyRequests", "The request is being throttled.") with { Headers = [("Retry-After", "1")] };
        }

        if (subscription != Subscription || group != ResourceGroup || cluster != Cluster)
        {
            return Error(404, "ResourceNotFound", $"The Resource 'Microsoft.ContainerService/managedClusters/{cluster}' under resource group '{group}' was not found.");
        }

        var method = context.Request.Method;
        if (name is null)
        {
            return method == "GET"
                ? new Reply(200, new JsonObject { ["value"] = new JsonArray([.. _pools.Values.Select(p => (JsonNode?)p.Json())]) })
                : Error(405, "MethodNotAllowed", "The requested method is not allowed on the collection.");
        }

        switch (method)
        {
            case "GET":
                return _pools.TryGetValue(name, out var found) ? new Reply(200, found.Json())
                    : Error(404, "NotFound", $"Agent pool '{name}' not found in managed cluster '{cluster}'.");
            case "PUT":
                return Create(name, JsonNode.Parse(body ?? "{}") as JsonObject ?? []);
            case "DELETE":
                if (!_pools.TryGetValue(name, out var pool))
                {
                    return new Reply(204, null);
                }

                pool.State = "Deleting";
                var operation = Start(name, deleting: true);
                var url = OperationUrl(operation);
                return new Reply(202, null) { Headers = [("Azure-AsyncOperation", url), ("Location", url)] };
            default:
                return Error(405, "MethodNotAllowed", $"{method} is not allowed.");
        }
    }

    private Reply Create(string name, JsonObject body)
    {
        if (!PoolName().IsMatch(name))
        {
            return Error(400, "InvalidParameter", $"The value of parameter agentPoolProfile.name is invalid. Agent pool name '{name}' must start with a lowercase letter, have max length of 12, and only have characters a-z0-9.");
        }

        if (Interlocked.Decrement(ref _conflicts) >= 0 || _pools.TryGetValue(name, out var existing) && existing.State == "Creating")
        {
            return Error(409, "OperationNotAllowed", "Operation is not allowed because there's an in progress create node pool operation. Please wait for it to finish before starting a new operation.");
        }

        var vmSize = (string?)body["properties"]?["vmSize"] ?? "";
        if (_failingSizes.TryGetValue(vmSize, out var failure))
        {
            return Error(failure.Status, failure.Code, failure.Message);
        }

        var pool = new Pool(name, body) { State = "Creating" };
        _pools[name] = pool;
        var operation = Start(name, deleting: false);
        return new Reply(201, pool.Json()) { Headers = [("Azure-AsyncOperation", OperationUrl(operation))] };
    }

    private Operation Start(string pool, bool deleting)
    {
        var operation = new Operation(Guid.NewGuid().ToString());
        _operations[operation.Id] = operation;
        _ = Task.Run(async () =>
        {
            await Task.Delay(OperationTime);
            if (deleting)
            {
                _pools.TryRemove(pool, out _);
                await DeleteNodeAsync(pool);
            }
            else if (_pools.TryGetValue(pool, out var created))
            {
                await RegisterNodeAsync(created);
                created.State = "Succeeded";
            }

            operation.Status = "Succeeded";
        });
        return operation;
    }

    private IResult OperationAsync(string subscription, string id, HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.ContainsKey(authorization["Bearer ".Length..]))
        {
            return Results.Json(new { error = new { code = "AuthenticationFailed", message = "Authentication failed." } }, statusCode: 401);
        }

        return _operations.TryGetValue(id, out var operation)
            ? Results.Json(new { id = $"/subscriptions/{subscription}/providers/Microsoft.ContainerService/locations/eastus/operations/{id}", name = id, status = operation.Status })
            : Results.Json(new { error = new { code = "NotFound", message = $"Operation {id} not found." } }, statusCode: 404);
    }

    private string OperationUrl(Operation operation) =>
        $"{Endpoint}subscriptions/{Subscription}/providers/Microsoft.ContainerService/locations/eastus/operations/{operation.Id}?api-version=2016-03-30";

    public static string NodeName(string pool) => $"aks-{pool}-12345678-vmss000000";

    private async Task RegisterNodeAsync(Pool pool)
    {
        var properties = pool.Body["properties"]!;
        var vmSize = (string)properties["vmSize"]!;
        var labels = (properties["nodeLabels"]?.AsObject() ?? []).ToDictionary(l => l.Key, l => (string)l.Value!);
        labels["agentpool"] = pool.Name;
        labels["kubernetes.azure.com/agentpool"] = pool.Name;
        labels["node.kubernetes.io/instance-type"] = vmSize;
        labels["kubernetes.io/os"] = "linux";
        var sku = GpuSkuCatalog.Default.Find(vmSize, "azure");
        var capacity = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new((sku?.Cpu ?? 8).ToString(CultureInfo.InvariantCulture)),
            ["memory"] = new($"{sku?.MemoryGiB ?? 32}Gi"),
            ["pods"] = new("110"),
        };
        if (sku is not null)
        {
            capacity["nvidia.com/gpu"] = new(sku.Gpus.ToString(CultureInfo.InvariantCulture));
        }

        var taints = (properties["nodeTaints"]?.AsArray() ?? []).Select(t => TaintPattern().Match((string)t!))
            .Select(m => new V1Taint { Key = m.Groups[1].Value, Value = m.Groups[2].Value, Effect = m.Groups[3].Value }).ToList();
        await _cluster.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = NodeName(pool.Name), Labels = labels },
            Spec = new V1NodeSpec
            {
                ProviderID = $"azure:///subscriptions/{Subscription}/resourceGroups/mc_{ResourceGroup}_{Cluster}_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{pool.Name}-12345678-vmss/virtualMachines/0",
                Taints = taints,
            },
            Status = new V1NodeStatus { Capacity = capacity, Allocatable = capacity, Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }] },
        });
    }

    private async Task DeleteNodeAsync(string pool)
    {
        try
        {
            await _cluster.CoreV1.DeleteNodeAsync(NodeName(pool));
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // never registered
        }
    }

    private static Reply Error(int status, string code, string message) =>
        new(status, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [GeneratedRegex("^[a-z][a-z0-9]{0,11}$")]
    private static partial Regex PoolName();

    [GeneratedRegex("^([^=]+)=([^:]*):(.+)$")]
    private static partial Regex TaintPattern();

    private sealed record Reply(int Status, JsonObject? Body)
    {
        public (string Name, string Value)[] Headers { get; init; } = [];
    }

    private sealed class Operation(string id)
    {
        public string Id { get; } = id;

        public string Status { get; set; } = "InProgress";
    }

    private sealed class Pool(string name, JsonObject body)
    {
        public string Name { get; } = name;

        public JsonObject Body { get; } = body;

        public string State { get; set; } = "Creating";

        public JsonObject Json()
        {
            var json = Body.DeepClone().AsObject();
            json["id"] = $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/Microsoft.ContainerService/managedClusters/{Cluster}/agentPools/{Name}";
            json["name"] = Name;
            json["type"] = "Microsoft.ContainerService/managedClusters/agentPools";
            var properties = json["properties"] as JsonObject ?? [];
            json["properties"] = properties;
            properties["provisioningState"] = State;
            return json;
        }
    }
}
