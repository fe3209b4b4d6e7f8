using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Apis;

/// <summary>What a request asks to do, as kube-apiserver's authorizer sees it.</summary>
public sealed record AuthorizationAttributes(string Verb, string ApiGroup, string Resource, string? Subresource, string? Namespace, string? Name);

/// <summary>
/// Kubernetes RBAC for the users that are not the cluster's admin (service accounts): a request is allowed when a rule
/// of a Role or ClusterRole bound to the user, one of its groups or its service account — by a ClusterRoleBinding, or
/// by a RoleBinding in the request's namespace — names its verb, API group, resource (or <c>resource/subresource</c>,
/// <c>*</c>, <c>*/subresource</c>) and, when the rule lists resourceNames, its name; denied with kube-apiserver's 403
/// otherwise. Every decision for such a user goes to the audit log (<c>--audit-log</c>, audit.k8s.io/v1 Events at the
/// Metadata level, with the <c>authorization.k8s.io/decision</c> and <c>reason</c> annotations, and which rule allowed
/// it and how many rules would have).
/// </summary>
public sealed partial class RbacAuthorizer : IDisposable
{
    private const string Group = "rbac.authorization.k8s.io";
    private readonly ClusterStore _store;
    private readonly ILogger<RbacAuthorizer> _logger;
    private readonly StreamWriter? _audit;
    private readonly Lock _gate = new();

    public RbacAuthorizer(ClusterStore store, IOptions<LocalClusterOptions> options, ILogger<RbacAuthorizer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _logger = logger;
        if (options.Value.AuditLog is { Length: > 0 } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            _audit = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        }
    }

    /// <summary>Throws the API server's 403 unless <paramref name="user"/> may do <paramref name="attributes"/>.</summary>
    public void Authorize(ClusterUser user, AuthorizationAttributes attributes)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(attributes);
        if (user.IsAdmin)
        {
            return;
        }

        var matches = Matching(user, attributes).ToList();
        var allowed = matches.Count > 0;
        Audit(user, attributes, allowed, matches);
        if (!allowed)
        {
            LogForbidden(_logger, user.Name, attributes.Verb, Resource(attributes), attributes.Namespace ?? "", attributes.Name ?? "");
            throw new ApiException(403, "Forbidden", Message(user, attributes));
        }
    }

    public void Dispose() => _audit?.Dispose();

    /// <summary>Every rule that allows the request: (binding, role, rule index).</summary>
    private IEnumerable<(string Binding, string Role, int Rule)> Matching(ClusterUser user, AuthorizationAttributes attributes)
    {
        foreach (var binding in _store.List($"{Group}/clusterrolebindings", null).Items.Where(b => Binds(b, user)))
        {
            if ((string?)binding["roleRef"]?["kind"] == "ClusterRole" && Role("clusterroles", null, (string?)binding["roleRef"]?["name"]) is { } role)
            {
                foreach (var index in Rules(role, attributes))
                {
                    yield return ($"ClusterRoleBinding/{Name(binding)}", $"ClusterRole/{Name(role)}", index);
                }
            }
        }

        if (attributes.Namespace is not { Length: > 0 } ns)
        {
            yield break;
        }

        foreach (var binding in _store.List($"{Group}/rolebindings", ns).Items.Where(b => Binds(b, user)))
        {
            var kind = (string?)binding["roleRef"]?["kind"];
            var role = kind switch
            {
                "Role" => Role("roles", ns, (string?)binding["roleRef"]?["name"]),
                "ClusterRole" => Role("clusterroles", null, (string?)binding["roleRef"]?["name"]),
                _ => null,
            };
            if (role is not null)
            {
                foreach (var index in Rules(role, attributes))
                {
                    yield return ($"RoleBinding/{ns}/{Name(binding)}", $"{kind}/{(kind == "Role" ? ns + "/" : "")}{Name(role)}", index);
                }
            }
        }
    }

    private JsonObject? Role(string plural, string? ns, string? name) =>
        name is null ? null : _store.Get(new ObjectKey($"{Group}/{plural}", ns ?? "", name));

    private static bool Binds(JsonObject binding, ClusterUser user) =>
        (binding["subjects"]?.AsArray() ?? []).OfType<JsonObject>().Any(subject => (string?)subject["kind"] switch
        {
            "ServiceAccount" => user.ServiceAccount is var (ns, name) && (string?)subject["name"] == name && (string?)subject["namespace"] == ns,
            "User" => (string?)subject["name"] == user.Name,
            "Group" => user.Groups.Contains((string?)subject["name"] ?? ""),
            _ => false,
        });

    /// <summary>The indexes of <paramref name="role"/>'s rules that allow the request.</summary>
    private static IEnumerable<int> Rules(JsonObject role, AuthorizationAttributes request)
    {
        var rules = role["rules"]?.AsArray() ?? [];
        for (var i = 0; i < rules.Count; i++)
        {
            if (rules[i] is JsonObject rule && Allows(rule, request))
            {
                yield return i;
            }
        }
    }

    private static bool Allows(JsonObject rule, AuthorizationAttributes request)
    {
        static IEnumerable<string> List(JsonNode? node) => node?.AsArray().Select(v => (string?)v ?? "") ?? [];
        if (!List(rule["verbs"]).Any(v => v == "*" || v == request.Verb) || !List(rule["apiGroups"]).Any(g => g == "*" || g == request.ApiGroup))
        {
            return false;
        }

        var combined = Resource(request);
        if (!List(rule["resources"]).Any(r => r == "*" || r == combined || (request.Subresource is { } sub && r == $"*/{sub}")))
        {
            return false;
        }

        var names = List(rule["resourceNames"]).ToList();
        return names.Count == 0 || (request.Name is { Length: > 0 } name && names.Contains(name));
    }

    private static string Resource(AuthorizationAttributes request) =>
        request.Subresource is null ? request.Resource : $"{request.Resource}/{request.Subresource}";

    private static string Name(JsonObject item) => (string?)item["metadata"]?["name"] ?? "";

    /// <summary>kube-apiserver's wording: <c>pods "x" is forbidden: User "…" cannot get resource "pods" in API group "" in the namespace "y"</c>.</summary>
    private static string Message(ClusterUser user, AuthorizationAttributes request)
    {
        var subject = request.Name is { Length: > 0 } name ? $"{Resource(request)} \"{name}\"" : Resource(request);
        var scope = request.Namespace is { Length: > 0 } ns ? $"in the namespace \"{ns}\"" : "at the cluster scope";
        return $"{subject} is forbidden: User \"{user.Name}\" cannot {request.Verb} resource \"{Resource(request)}\" in API group \"{request.ApiGroup}\" {scope}";
    }

    private void Audit(ClusterUser user, AuthorizationAttributes request, bool allowed, List<(string Binding, string Role, int Rule)> matches)
    {
        if (_audit is null)
        {
            return;
        }

        var first = matches.FirstOrDefault();
        var annotations = new JsonObject
        {
            ["authorization.k8s.io/decision"] = allowed ? "allow" : "forbid",
            ["authorization.k8s.io/reason"] = allowed ? $"RBAC: allowed by {first.Binding} of {first.Role} to {user.Name}" : "",
        };
        if (allowed)
        {
            annotations["localcluster.kaito.sh/rule"] = $"{first.Role}#{first.Rule}";
            annotations["localcluster.kaito.sh/matching-rules"] = matches.Count;
        }

        var line = new JsonObject
        {
            ["kind"] = "Event",
            ["apiVersion"] = "audit.k8s.io/v1",
            ["level"] = "Metadata",
            ["auditID"] = Guid.NewGuid().ToString(),
            ["stage"] = "ResponseStarted",
            ["verb"] = request.Verb,
            ["user"] = new JsonObject { ["username"] = user.Name, ["groups"] = new JsonArray(user.Groups.Select(g => (JsonNode?)g).ToArray()) },
            ["objectRef"] = new JsonObject
            {
                ["resource"] = request.Resource,
                ["subresource"] = request.Subresource,
                ["namespace"] = request.Namespace,
                ["name"] = request.Name,
                ["apiGroup"] = request.ApiGroup,
            },
            ["responseStatus"] = new JsonObject { ["code"] = allowed ? 200 : 403 },
            ["stageTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["annotations"] = annotations,
        }.ToJsonString();
        lock (_gate)
        {
            _audit.WriteLine(line);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "RBAC: {User} may not {Verb} {Resource} {Namespace}/{Name}")]
    private static partial void LogForbidden(ILogger logger, string user, string verb, string resource, string @namespace, string name);
}
