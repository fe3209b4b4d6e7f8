using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Storage;

/// <summary>A failed API request, carried as the <c>Status</c> the API server would return.</summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject? Details { get; } = details;

    public static ApiException NotFound(string groupResource, string name) =>
        new(404, "NotFound", $"{Display(groupResource)} \"{name}\" not found", DetailsFor(groupResource, name));

    public static ApiException AlreadyExists(string groupResource, string name) =>
        new(409, "AlreadyExists", $"{Display(groupResource)} \"{name}\" already exists", DetailsFor(groupResource, name));

    public static ApiException Conflict(string groupResource, string name) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {Display(groupResource)} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            DetailsFor(groupResource, name));

    public static ApiException Invalid(string kind, string name, string message, string? field = null) =>
        new(422, "Invalid", $"{kind} \"{name}\" is invalid: {(field is null ? "" : field + ": ")}{message}",
            new JsonObject
            {
                ["name"] = name,
                ["kind"] = kind,
                ["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = message, ["field"] = field }),
            });

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public static ApiException MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message);

    public static ApiException UnsupportedMediaType(string contentType) =>
        new(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {contentType}");

    /// <summary><c>workspaces.kaito.sh</c> for a group resource <c>kaito.sh/workspaces</c>; <c>pods</c> for core.</summary>
    public static string Display(string groupResource)
    {
        var slash = groupResource.IndexOf('/', StringComparison.Ordinal);
        var group = groupResource[..slash];
        var resource = groupResource[(slash + 1)..];
        return group.Length == 0 ? resource : $"{resource}.{group}";
    }

    private static JsonObject DetailsFor(string groupResource, string name)
    {
        var slash = groupResource.IndexOf('/', StringComparison.Ordinal);
        var details = new JsonObject { ["name"] = name };
        if (slash > 0)
        {
            details["group"] = groupResource[..slash];
        }

        details["kind"] = groupResource[(slash + 1)..];
        return details;
    }

    /// <summary>The <c>Status</c> body.</summary>
    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
        };
        if (Details is not null)
        {
            status["details"] = Details.DeepClone();
        }

        status["code"] = Code;
        return status;
    }
}
