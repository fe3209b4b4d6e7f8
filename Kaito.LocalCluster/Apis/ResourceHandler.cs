using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Api.Serialization;
using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Serves the resource endpoints: get, list, watch, create, update, patch, delete and deletecollection, with the
/// status subresource, selectors, paging, Table output, schema defaulting and pruning, and admission webhooks.
/// </summary>
public sealed partial class ResourceHandler(
    ClusterStore store,
    ResourceRegistry registry,
    AdmissionWebhooks admission,
    Kubelet.LocalKubelet kubelet,
    ApiRequestMetrics metrics,
    TimeProvider clock,
    Microsoft.Extensions.Options.IOptionsMonitor<FaultOptions> faults,
    Strategies.ResourceStrategies strategies,
    RbacAuthorizer authorizer,
    ServiceAccountTokens tokens,
    ILogger<ResourceHandler> logger)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false };

    public async Task HandleAsync(HttpContext context, string group, string version, string path)
    {
        try
        {
            await HandleRequestAsync(context, group, version, path);
        }
        finally
        {
            metrics.Record(context.Items[MetricsVerb] as string ?? context.Request.Method.ToLowerInvariant(), group,
                context.Items[MetricsResource] as string ?? "", context.Response.StatusCode, context.Request.Headers.UserAgent.ToString());
        }
    }

    private const string MetricsVerb = "kaito.metrics.verb";
    private const string MetricsResource = "kaito.metrics.resource";

    private async Task HandleRequestAsync(HttpContext context, string group, string version, string path)
    {
        try
        {
            var contentType = context.Request.ContentType ?? "";
            if (contentType.StartsWith(ProtobufBodies.ContentType, StringComparison.Ordinal))
            {
                if (context.Request.Method is not ("POST" or "PUT"))
                {
                    throw ApiException.UnsupportedMediaType(contentType);
                }

                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
                var json = ProtobufBodies.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                context.Request.Body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()));
                context.Request.ContentType = "application/json";
            }

            var request = ResourceRequest.Parse(registry, group, version, path);
            var method = context.Request.Method;
            context.Items[MetricsVerb] = Verb(method, request, IsWatch(context));
            context.Items[MetricsResource] = request.Subresource is null ? request.Type.Plural : $"{request.Type.Plural}/{request.Subresource}";
            Authorize(context, request, method);
            await InjectFaultsAsync(context, Verb(method, request, IsWatch(context)));
            var result = (method, request.Name, request.Subresource) switch
            {
                ("GET", null, _) when IsWatch(context) => await WatchAsync(context, request),
                ("GET", null, _) => List(context, request),
                ("GET", not null, null or "status") => Get(context, request),
                ("GET", not null, "log") when request.Type.GroupResource == "/pods" => await LogAsync(context, request),
                ("GET" or "POST", not null, "exec" or "attach") when request.Type.GroupResource == "/pods" => await StreamAsync(context, request),
                ("GET" or "POST", not null, "portforward") when request.Type.GroupResource == "/pods" => await PortForwardAsync(context, request),
                ("POST", null, _) => await CreateAsync(context, request),
                ("POST", not null, "binding") => await BindAsync(context, request),
                ("POST", not null, "token") when request.Type.GroupResource == "/serviceaccounts" => await TokenRequestAsync(context, request),
                ("PUT", not null, null or "status") => await ReplaceAsync(context, request),
                ("PATCH", not null, null or "status") => await PatchAsync(context, request),
                ("DELETE", not null, null) => await DeleteAsync(context, request),
                ("DELETE", null, null) => DeleteCollection(context, request),
                _ => throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource"),
            };

            if (result is not null)
            {
                await WriteAsync(context, result.Value.Code, result.Value.Body);
            }
        }
        catch (ApiException ex)
        {
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, ex.Code, ex.ToStatus());
            }
        }
        catch (JsonException ex)
        {
            await WriteAsync(context, 400, ApiException.BadRequest($"the object provided is unrecognized: {ex.Message}").ToStatus());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An API server answers a bug with a Status, never with a stack trace (or the request's headers).
            LogInternalError(logger, context.Request.Method, context.Request.Path, ex);
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, 500, new ApiException(500, "InternalError", $"Internal error occurred: {ex.Message}").ToStatus());
            }
        }
    }

    private static bool IsWatch(HttpContext context) => context.Request.Query["watch"] is ["true" or "1"];

    /// <summary>
    /// kube-apiserver's OwnerReferencesPermissionEnforcement: setting <c>blockOwnerDeletion</c> on an owner reference
    /// needs permission to update the owner's <c>finalizers</c> subresource (the garbage collector would otherwise let
    /// anyone hold an owner's deletion back).
    /// </summary>
    private void AuthorizeOwnerReferences(HttpContext context, ResourceRequest request, JsonObject item, JsonObject? old)
    {
        var user = AuthenticationMiddleware.User(context);
        if (user.IsAdmin)
        {
            return;
        }

        static IEnumerable<JsonObject> Blocking(JsonObject? item) =>
            (item?["metadata"]?["ownerReferences"]?.AsArray() ?? []).OfType<JsonObject>().Where(o => o["blockOwnerDeletion"] is JsonValue v && v.TryGetValue<bool>(out var b) && b);
        var before = Blocking(old).Select(o => (string?)o["uid"]).ToHashSet();
        foreach (var owner in Blocking(item).Where(o => !before.Contains((string?)o["uid"])))
        {
            var apiVersion = (string?)owner["apiVersion"] ?? "";
            var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
            if (registry.Types.FirstOrDefault(t => t.Group == group && t.Kind == (string?)owner["kind"]) is not { } type)
            {
                continue;
            }

            try
            {
                authorizer.Authorize(user, new AuthorizationAttributes("update", group, type.Plural, "finalizers", type.Namespaced ? request.Namespace : null, (string?)owner["name"]));
            }
            catch (ApiException denied) when (denied.Code == 403)
            {
                throw new ApiException(422, "Invalid", $"{request.Type.Plural} \"{(string?)item["metadata"]?["name"]}\" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: {denied.Message}");
            }
        }
    }

    /// <summary>RBAC for service accounts (the admin passes): the request's verb, and an apply that would create also needs create.</summary>
    private void Authorize(HttpContext context, ResourceRequest request, string method)
    {
        var user = AuthenticationMiddleware.User(context);
        var verb = method == "DELETE" && request.Name is null ? "deletecollection" : Verb(method, request, IsWatch(context));
        var attributes = new AuthorizationAttributes(verb, request.Type.Group, request.Type.Plural, request.Subresource,
            request.Type.Namespaced ? request.Namespace : null, request.Name);
        authorizer.Authorize(user, attributes);
        if (method == "PATCH" && request.Subresource is null && (context.Request.ContentType ?? "").StartsWith(Patches.ApplyPatch, StringComparison.Ordinal)
            && request.Name is not null && store.Get(request.Key) is null)
        {
            authorizer.Authorize(user, attributes with { Verb = "create" });
        }
    }

    private static string Verb(string method, ResourceRequest request, bool watch) => method switch
    {
        "GET" when watch => "watch",
        "GET" when request.Name is null => "list",
        "GET" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => method.ToLowerInvariant(),
    };

    private async Task InjectFaultsAsync(HttpContext context, string verb)
    {
        var settings = faults.CurrentValue;
        if (!settings.Applies(verb))
        {
            return;
        }

        if (settings.Latency > TimeSpan.Zero)
        {
            await Task.Delay(settings.Latency, context.RequestAborted);
        }

        if (settings.ErrorRate > 0 && Random.Shared.NextDouble() < settings.ErrorRate)
        {
            throw new ApiException(500, "InternalError", $"Internal error occurred: injected fault ({FaultOptions.SectionName}:ErrorRate)");
        }
    }

    private (int Code, JsonNode Body)? Get(HttpContext context, ResourceRequest request)
    {
        var item = store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
        var output = ForVersion(item, request);
        return (200, Tables.IsRequested(context.Request.Headers.Accept)
            ? Tables.Render(request.Type, request.Version, [output], (string?)item["metadata"]!["resourceVersion"], context.Request.Query["includeObject"], clock.GetUtcNow())
            : output);
    }

    private async Task<(int Code, JsonNode Body)?> LogAsync(HttpContext context, ResourceRequest request)
    {
        var pod = store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
        var container = PodLogs.Container(pod, context.Request.Query);
        var previous = context.Request.Query["previous"] == "true";
        if (kubelet.LogFile(pod, container, previous) is { } path)
        {
            var uid = (string)pod["metadata"]!["uid"]!;
            await ContainerLogStream.WriteAsync(context, path, () => ContainerLogStream.IsRunning(store, request.Key, uid, container), clock);
            return null;
        }

        var text = PodLogs.Render(pod, context.Request.Query);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(text, context.RequestAborted);
        return null;
    }

    private async Task<(int Code, JsonNode Body)?> StreamAsync(HttpContext context, ResourceRequest request)
    {
        var pod = store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
        await ContainerStreams.HandleAsync(context, kubelet, pod, attach: request.Subresource == "attach");
        return null;
    }

    private async Task<(int Code, JsonNode Body)?> PortForwardAsync(HttpContext context, ResourceRequest request)
    {
        var pod = store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
        await PortForward.HandleAsync(context, pod, logger);
        return null;
    }

    private (int Code, JsonNode Body)? List(HttpContext context, ResourceRequest request)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"]);
        var (items, revision) = store.List(request.Type.GroupResource, request.Namespace);
        var matching = items.Where(i => labels.Matches(i) && fields.Matches(i)).ToList();

        string? continueToken = null;
        if (query["continue"] is [{ Length: > 0 } token])
        {
            var after = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\n');
            revision = long.Parse(after[0], CultureInfo.InvariantCulture);
            matching = matching.SkipWhile(i => string.CompareOrdinal(Position(i), after[1]) <= 0).ToList();
        }

        if (int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var limit) && limit > 0 && matching.Count > limit)
        {
            matching = matching.Take(limit).ToList();
            continueToken = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{revision}\n{Position(matching[^1])}"));
        }

        var outputs = matching.Select(i => ForVersion(i, request)).ToList();
        var resourceVersion = revision.ToString(CultureInfo.InvariantCulture);
        if (Tables.IsRequested(context.Request.Headers.Accept))
        {
            return (200, Tables.Render(request.Type, request.Version, outputs, resourceVersion, query["includeObject"], clock.GetUtcNow(), continueToken));
        }

        var metadata = new JsonObject { ["resourceVersion"] = resourceVersion };
        if (continueToken is not null)
        {
            metadata["continue"] = continueToken;
        }

        return (200, new JsonObject
        {
            ["kind"] = request.Type.Kind + "List",
            ["apiVersion"] = request.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = new JsonArray(outputs.Select(o => o.DeepClone()).ToArray()),
        });

        static string Position(JsonObject item) => $"{item["metadata"]?["namespace"]}/{item["metadata"]!["name"]}";
    }

    private async Task<(int Code, JsonNode Body)?> CreateAsync(HttpContext context, ResourceRequest request)
    {
        var item = await ReadObjectAsync(context);
        PrepareWrite(context, request, item, isCreate: true);
        AuthorizeOwnerReferences(context, request, item, old: null);
        var metadata = item["metadata"]!.AsObject();
        if ((string?)metadata["name"] is null or "" && (string?)metadata["generateName"] is { Length: > 0 } prefix)
        {
            metadata["name"] = prefix + RandomSuffix();
        }

        if (request.Type.Namespaced && string.IsNullOrEmpty(request.Namespace))
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }

        await admission.ValidateAsync(request, "CREATE", item, null, context, context.RequestAborted);
        if (IsDryRun(context))
        {
            return (201, ForVersion(item, request));
        }

        var created = store.Create(request.Type, request.Namespace ?? "", item, strategies.For(request.Type).OnCreateAssigned);
        strategies.For(request.Type).AfterWrite(request.Type, created);
        return (201, ForVersion(store.Get(request.Key with { Name = (string)created["metadata"]!["name"]! }) ?? created, request));
    }

    private async Task<(int Code, JsonNode Body)?> ReplaceAsync(HttpContext context, ResourceRequest request)
    {
        var item = await ReadObjectAsync(context);
        if ((string?)item["metadata"]?["name"] is { } bodyName && bodyName != request.Name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({request.Name})");
        }

        item["metadata"]!["name"] = request.Name;
        return await UpdateAsync(context, request, item);
    }

    private async Task<(int Code, JsonNode Body)?> UpdateAsync(HttpContext context, ResourceRequest request, JsonObject item)
    {
        var statusOnly = request.Subresource == "status";
        var old = store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
        PrepareWrite(context, request, item, isCreate: false);
        AuthorizeOwnerReferences(context, request, item, old);
        if (!statusOnly)
        {
            await admission.ValidateAsync(request, "UPDATE", item, ForVersion(old, request), context, context.RequestAborted);
        }

        if (IsDryRun(context))
        {
            return (200, ForVersion(item, request));
        }

        var updated = store.Update(request.Type, request.Key, item, statusOnly);
        strategies.For(request.Type).AfterWrite(request.Type, updated);
        return (200, ForVersion(updated, request));
    }

    private async Task<(int Code, JsonNode Body)?> PatchAsync(HttpContext context, ResourceRequest request)
    {
        var contentType = context.Request.ContentType?.Split(';')[0].Trim() ?? "";
        var body = await ReadBodyAsync(context);
        for (var attempt = 0; ; attempt++)
        {
            var existing = store.Get(request.Key);
            if (existing is null)
            {
                if (contentType != Patches.ApplyPatch)
                {
                    throw ApiException.NotFound(request.Type.GroupResource, request.Name!);
                }

                var applied = ParseApplyBody(body);
                applied["metadata"] ??= new JsonObject();
                applied["metadata"]!["name"] = request.Name;
                PrepareWrite(context, request, applied, isCreate: true);
                AuthorizeOwnerReferences(context, request, applied, old: null);
                await admission.ValidateAsync(request, "CREATE", applied, null, context, context.RequestAborted);
                var created = store.Create(request.Type, request.Namespace ?? "", applied, strategies.For(request.Type).OnCreateAssigned);
                strategies.For(request.Type).AfterWrite(request.Type, created);
                return (201, ForVersion(created, request));
            }

            var current = ForVersion(existing, request);
            JsonNode? patched = contentType switch
            {
                Patches.JsonPatch => Patches.ApplyJsonPatch(current, JsonBodies.Parse(body) as JsonArray ?? throw ApiException.BadRequest("a json patch must be an array")),
                Patches.MergePatch => Patches.ApplyMergePatch(current, JsonBodies.Parse(body)),
                Patches.StrategicMergePatch when request.Type.DefinedBy is not null =>
                    throw new ApiException(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
                Patches.StrategicMergePatch => Patches.ApplyStrategicMergePatch(current, JsonBodies.Parse(body)),
                Patches.ApplyPatch => Patches.ApplyStrategicMergePatch(current, ParseApplyBody(body)),
                _ => throw ApiException.UnsupportedMediaType(contentType),
            };

            if (patched is not JsonObject patchedObject)
            {
                throw ApiException.BadRequest("the patch did not produce an object");
            }

            // A patch that names metadata.resourceVersion is conditional on it, as on the apiserver: a stale one is a 409.
            // Otherwise the patch applies to what is stored now, and the apiserver retries internally when a write raced it.
            var precondition = PreconditionVersion(contentType, body);
            var stored = (string?)existing["metadata"]!["resourceVersion"];
            if (precondition is not null && precondition != stored)
            {
                throw ApiException.Conflict(request.Type.GroupResource, request.Name!);
            }

            patchedObject["metadata"] ??= new JsonObject();
            patchedObject["metadata"]!["resourceVersion"] = stored;
            try
            {
                return await UpdateAsync(context, request, patchedObject);
            }
            catch (ApiException ex) when (ex.Reason == "Conflict" && attempt < 5 && precondition is null)
            {
                LogPatchRetry(logger, request.Key, attempt + 1);
            }
        }
    }

    private async Task<(int Code, JsonNode Body)?> DeleteAsync(HttpContext context, ResourceRequest request)
    {
        var strategy = strategies.For(request.Type);
        strategy.ValidateDelete(request.Key);

        var policy = (string?)context.Request.Query["propagationPolicy"];
        var grace = long.TryParse(context.Request.Query["gracePeriodSeconds"], System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out var fromQuery) ? fromQuery : (long?)null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var options = JsonBodies.Parse(await ReadBodyAsync(context)) as JsonObject;
            policy ??= (string?)options?["propagationPolicy"];
            grace ??= JsonNumbers.ReadLong(options?["gracePeriodSeconds"]);
            if (options?["orphanDependents"]?.GetValue<bool>() == true)
            {
                policy ??= "Orphan";
            }
        }

        if (IsDryRun(context))
        {
            return (200, ForVersion(store.Get(request.Key) ?? throw ApiException.NotFound(request.Type.GroupResource, request.Name!), request));
        }

        if (store.Get(request.Key) is { } existing && strategy.GracePeriod(existing, grace) is { } seconds)
        {
            return (200, ForVersion(store.MarkDeleting(request.Type, request.Key, seconds), request));
        }

        var deleted = store.Delete(request.Type, request.Key, policy);
        strategy.AfterDelete(request.Key, deleted);
        return (200, ForVersion(deleted, request));
    }

    private (int Code, JsonNode Body)? DeleteCollection(HttpContext context, ResourceRequest request)
    {
        var labels = LabelSelector.Parse(context.Request.Query["labelSelector"]);
        var fields = FieldSelector.Parse(context.Request.Query["fieldSelector"]);
        var (items, _) = store.List(request.Type.GroupResource, request.Namespace);
        var strategy = strategies.For(request.Type);
        var deleted = new JsonArray();
        foreach (var item in items.Where(i => labels.Matches(i) && fields.Matches(i)))
        {
            var key = new ObjectKey(request.Type.GroupResource, ClusterStore.NamespaceOf(item) ?? "", (string)item["metadata"]!["name"]!);
            try
            {
                strategy.ValidateDelete(key);
                if (strategy.GracePeriod(item, null) is { } seconds)
                {
                    deleted.Add(ForVersion(store.MarkDeleting(request.Type, key, seconds), request).DeepClone());
                    continue;
                }

                var gone = store.Delete(request.Type, key, context.Request.Query["propagationPolicy"]);
                strategy.AfterDelete(key, gone);
                deleted.Add(ForVersion(gone, request).DeepClone());
            }
            catch (ApiException ex) when (ex.Code == 404)
            {
                // deleted meanwhile by garbage collection
            }
        }

        return (200, new JsonObject
        {
            ["kind"] = request.Type.Kind + "List",
            ["apiVersion"] = request.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = store.Revision.ToString(CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        });
    }

    private async Task<(int Code, JsonNode Body)?> BindAsync(HttpContext context, ResourceRequest request)
    {
        if (request.Type.GroupResource != "/pods")
        {
            throw ApiException.MethodNotAllowed("binding is a pod subresource");
        }

        var binding = await ReadObjectAsync(context);
        var node = (string?)binding["target"]?["name"] ?? throw ApiException.BadRequest("binding.target.name is required");
        var pod = (store.Get(request.Key) ?? throw ApiException.NotFound("/pods", request.Name!)).DeepClone().AsObject();
        if ((string?)pod["spec"]?["nodeName"] is { Length: > 0 } bound)
        {
            throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{request.Name}\": pod {request.Name} is already assigned to node \"{bound}\"");
        }

        pod["spec"]!["nodeName"] = node;
        store.Update(request.Type, request.Key, pod, statusOnly: false);
        return (201, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["code"] = 201 });
    }

    /// <summary>
    /// TokenRequest (<c>kubectl create token</c>): a token for the service account, for <c>spec.expirationSeconds</c>
    /// (default an hour, at least 10 minutes, at most 48 hours, as kube-apiserver bounds it).
    /// </summary>
    private async Task<(int Code, JsonNode Body)?> TokenRequestAsync(HttpContext context, ResourceRequest request)
    {
        var body = await ReadObjectAsync(context);
        var account = store.Get(request.Key) ?? throw ApiException.NotFound("/serviceaccounts", request.Name!);
        var seconds = Math.Clamp(JsonNumbers.ReadLong(body["spec"]?["expirationSeconds"]) ?? 3600, 600, 48 * 3600);
        var token = tokens.Issue(account, TimeSpan.FromSeconds(seconds));
        body["apiVersion"] = "authentication.k8s.io/v1";
        body["kind"] = "TokenRequest";
        body["metadata"] = new JsonObject { ["name"] = request.Name, ["namespace"] = request.Namespace, ["creationTimestamp"] = clock.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) };
        body["spec"] = new JsonObject { ["audiences"] = new JsonArray(ServiceAccountTokens.Issuer), ["expirationSeconds"] = seconds };
        body["status"] = new JsonObject
        {
            ["token"] = token,
            ["expirationTimestamp"] = clock.GetUtcNow().AddSeconds(seconds).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        return (201, body);
    }

    /// <summary>Checks kind and apiVersion, fills metadata, and for custom resources defaults and prunes by the schema.</summary>
    private void PrepareWrite(HttpContext context, ResourceRequest request, JsonObject item, bool isCreate)
    {
        var kind = (string?)item["kind"];
        var apiVersion = (string?)item["apiVersion"];
        if (kind is not null && kind != request.Type.Kind || apiVersion is not null && apiVersion != request.ApiVersion)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({request.ApiVersion})");
        }

        item["kind"] = request.Type.Kind;
        item["apiVersion"] = request.Type.ApiVersionFor(request.Type.StorageVersion);
        var metadata = item["metadata"] as JsonObject ?? throw ApiException.BadRequest("metadata is required");
        if (request.Type.Namespaced && (string?)metadata["namespace"] is { Length: > 0 } bodyNamespace && bodyNamespace != request.Namespace)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        if (request.Type.Schemas?.GetValueOrDefault(request.Version) is { } schema)
        {
            var (unknown, invalid) = StructuralSchema.Apply(item, schema);
            var validation = (string?)context.Request.Query["fieldValidation"] ?? "Warn";
            if (unknown.Count > 0 && validation == "Strict")
            {
                throw ApiException.BadRequest($"strict decoding error: {string.Join(", ", unknown.Select(u => $"unknown field \"{u}\""))}");
            }

            if (unknown.Count > 0 && validation == "Warn")
            {
                foreach (var field in unknown)
                {
                    WarningHeaders.Add(context, $"unknown field \"{field}\"");
                }
            }

            if (invalid.Count > 0)
            {
                throw ApiException.Invalid(request.Type.Kind, (string?)metadata["name"] ?? "", string.Join(", ", invalid));
            }
        }

        var strategy = strategies.For(request.Type);
        strategy.PrepareForWrite(item);
        if (isCreate && (string?)metadata["name"] is { Length: > 0 } name && !strategy.IsValidName(name))
        {
            throw ApiException.Invalid(request.Type.Kind, name, $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", "metadata.name");
        }
    }

    private static JsonObject ForVersion(JsonObject item, ResourceRequest request)
    {
        if ((string?)item["apiVersion"] == request.ApiVersion)
        {
            return item;
        }

        var copy = item.DeepClone().AsObject();
        copy["apiVersion"] = request.ApiVersion;
        return copy;
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var contentType = context.Request.ContentType ?? "";
        var node = contentType.Contains("yaml", StringComparison.Ordinal) ? ParseApplyBody(body) : JsonBodies.Parse(body);
        return node as JsonObject ?? throw ApiException.BadRequest("the request body must be an object");
    }

    private static JsonObject ParseApplyBody(string body) =>
        KaitoYaml.LoadAll(body, "request body") is [var single] ? single : throw ApiException.BadRequest("the request body must hold exactly one object");

    private static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(context.RequestAborted);
    }

    /// <summary>The <c>metadata.resourceVersion</c> a merge, strategic-merge or apply patch names (JSON patches: a test or replace of it).</summary>
    private static string? PreconditionVersion(string contentType, string body)
    {
        try
        {
            return JsonBodies.Parse(body) switch
            {
                JsonObject patch when contentType != Patches.ApplyPatch => (string?)patch["metadata"]?["resourceVersion"],
                JsonArray operations => operations.OfType<JsonObject>()
                    .Where(o => (string?)o["path"] == "/metadata/resourceVersion" && (string?)o["op"] is "test" or "replace")
                    .Select(o => (string?)o["value"]).FirstOrDefault(),
                _ => null,
            };
        }
        catch (ApiException)
        {
            return null; // apply bodies may be YAML; the patch itself reports malformed JSON
        }
    }

    private static bool IsDryRun(HttpContext context) => context.Request.Query["dryRun"] is ["All"];

    private static string RandomSuffix()
    {
        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
    }

    internal static async Task WriteAsync(HttpContext context, int code, JsonNode body)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(s_json), context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogInternalError(ILogger logger, string method, PathString path, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Patch of {Key} raced another write; retrying ({Attempt})")]
    private static partial void LogPatchRetry(ILogger logger, ObjectKey key, int attempt);
}
