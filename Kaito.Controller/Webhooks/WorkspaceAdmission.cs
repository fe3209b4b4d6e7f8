using System.Collections.ObjectModel;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kaito.Api.Nodes;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;
using Microsoft.Extensions.Options;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// Answers AdmissionReview v1 for workspaces (v1alpha1 and v1beta1 share a schema): the API's validator on CREATE and
/// UPDATE, every field error in the denial's message, warnings passed through. ConfigMaps the workspace names are read
/// so their contents are checked as KAITO's webhook does, and with bring-your-own nodes the nodes on create.
/// </summary>
public sealed partial class WorkspaceAdmission(ObjectClient client, IOptions<ControllerOptions> options, ILogger<WorkspaceAdmission> logger)
{
    public async Task<JsonObject> ReviewAsync(JsonObject review, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(review);
        var request = review["request"] as JsonObject ?? throw new FormatException("the AdmissionReview has no request");
        var uid = (string?)request["uid"] ?? throw new FormatException("the AdmissionReview request has no uid");
        var operation = (string?)request["operation"];
        JsonObject response;
        if (operation is not ("CREATE" or "UPDATE") || request["object"] is not JsonObject item)
        {
            response = Allowed(uid, []);
        }
        else
        {
            var workspace = KubernetesJson.Deserialize<Workspace>(item.ToJsonString());
            var old = request["oldObject"] is JsonObject previous ? KubernetesJson.Deserialize<Workspace>(previous.ToJsonString()) : null;
            // The namespace is the API server's word (the request's), never the object's own claim: ConfigMaps are read
            // from where the workspace will live, not from a namespace its author names.
            workspace.Metadata.NamespaceProperty = (string?)request["namespace"] ?? workspace.Metadata.NamespaceProperty;
            var configMaps = await ConfigMapsAsync(workspace, cancellationToken);
            // Bring-your-own nodes are checked on create: which the selector picks and what GPUs they have.
            IReadOnlyList<NodeLabels>? nodes = old is null && !options.Value.AutoProvisioning
                ? [.. (await client.ListAsync<V1Node>(null, null, cancellationToken)).Select(n => new NodeLabels(n.Metadata.Name, n.Metadata.Labels?.AsReadOnly() ?? ReadOnlyDictionary<string, string>.Empty))]
                : null;
            var context = new ValidationContext
            {
                NodeAutoProvisioning = options.Value.AutoProvisioning,
                Cloud = options.Value.Cloud,
                ConfigMaps = name => configMaps.GetValueOrDefault(name),
                Nodes = nodes is null ? null : () => nodes,
                AllowedDataOrigins = (options.Value.AllowedDataHosts ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            var result = WorkspaceValidator.Validate(workspace, old, context);
            var warnings = result.Warnings.Select(w => w.ToString()).ToList();
            if (result.IsValid)
            {
                response = Allowed(uid, warnings);
            }
            else
            {
                var who = $"{workspace.Metadata.NamespaceProperty}/{workspace.Metadata.Name}";
                var message = result.Message;
                LogDenied(logger, operation, who, message);
                response = new JsonObject
                {
                    ["uid"] = uid,
                    ["allowed"] = false,
                    ["status"] = new JsonObject { ["code"] = 400, ["reason"] = "BadRequest", ["message"] = $"validation failed: {message}" },
                    ["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode?)w)]),
                };
            }
        }

        return new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response };
    }

    private static JsonObject Allowed(string uid, List<string> warnings) => new()
    {
        ["uid"] = uid,
        ["allowed"] = true,
        ["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode?)w)]),
    };

    /// <summary>The data of the ConfigMaps the workspace names (inference config, tuning config), where they exist.</summary>
    private async Task<Dictionary<string, IReadOnlyDictionary<string, string>?>> ConfigMapsAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, IReadOnlyDictionary<string, string>?>(StringComparer.Ordinal);
        foreach (var name in new[] { workspace.Inference?.Config, workspace.Tuning?.Config }.OfType<string>().Where(n => n.Length > 0).Distinct())
        {
            var map = await client.GetAsync<V1ConfigMap>(workspace.Metadata.NamespaceProperty, name, cancellationToken);
            found[name] = map is null ? null : map.Data is null ? new Dictionary<string, string>() : new Dictionary<string, string>(map.Data);
        }

        return found;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Denied {Operation} of workspace {Workspace}: {Message}")]
    private static partial void LogDenied(ILogger logger, string operation, string workspace, string message);
}
