using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Simulation;

/// <summary>Small helpers over JSON objects the simulated controllers share.</summary>
internal static class Objects
{
    public static string Name(JsonObject item) => (string)item["metadata"]!["name"]!;

    public static string Namespace(JsonObject item) => (string?)item["metadata"]?["namespace"] ?? "";

    public static string Uid(JsonObject item) => (string)item["metadata"]!["uid"]!;

    public static bool IsDeleting(JsonObject item) => item["metadata"]?["deletionTimestamp"] is not null;

    public static IReadOnlyDictionary<string, string> Labels(JsonObject item) =>
        item["metadata"]?["labels"]?.AsObject().ToDictionary(l => l.Key, l => (string?)l.Value ?? "") ?? new Dictionary<string, string>();

    public static bool IsOwnedBy(JsonObject item, JsonObject owner) =>
        item["metadata"]?["ownerReferences"]?.AsArray().Any(r => (string?)r?["uid"] == Uid(owner) && r?["controller"]?.GetValue<bool>() == true) == true;

    public static JsonObject ControllerReference(JsonObject owner) => new()
    {
        ["apiVersion"] = (string?)owner["apiVersion"],
        ["kind"] = (string?)owner["kind"],
        ["name"] = Name(owner),
        ["uid"] = Uid(owner),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };

    /// <summary>Whether a label selector (matchLabels and matchExpressions) selects labels.</summary>
    public static bool Selects(JsonNode? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is not JsonObject s)
        {
            return false;
        }

        var matchLabels = s["matchLabels"]?.AsObject() ?? [];
        var expressions = s["matchExpressions"]?.AsArray() ?? [];
        if (matchLabels.Count == 0 && expressions.Count == 0)
        {
            return true;
        }

        return matchLabels.All(l => labels.TryGetValue(l.Key, out var v) && v == (string?)l.Value) &&
               expressions.All(e => Requirement(e!.AsObject(), labels));
    }

    /// <summary>A node selector or label selector requirement: In, NotIn, Exists, DoesNotExist, Gt, Lt.</summary>
    public static bool Requirement(JsonObject requirement, IReadOnlyDictionary<string, string> labels)
    {
        var key = (string)requirement["key"]!;
        var values = requirement["values"]?.AsArray().Select(v => (string)v!).ToList() ?? [];
        var present = labels.TryGetValue(key, out var value);
        return (string?)requirement["operator"] switch
        {
            "In" => present && values.Contains(value!),
            "NotIn" => !present || !values.Contains(value!),
            "Exists" => present,
            "DoesNotExist" => !present,
            "Gt" => present && long.TryParse(value, out var g) && values.Count == 1 && g > long.Parse(values[0], System.Globalization.CultureInfo.InvariantCulture),
            "Lt" => present && long.TryParse(value, out var l) && values.Count == 1 && l < long.Parse(values[0], System.Globalization.CultureInfo.InvariantCulture),
            _ => false,
        };
    }

    /// <summary>Sets a condition (type, status, reason, message), moving lastTransitionTime only when the status changes.</summary>
    public static void SetCondition(JsonObject status, string type, string value, string? reason, string? message, string now)
    {
        var conditions = status["conditions"] as JsonArray;
        if (conditions is null)
        {
            status["conditions"] = conditions = [];
        }

        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);
        if (existing is null)
        {
            existing = new JsonObject { ["type"] = type };
            conditions.Add(existing);
        }

        if ((string?)existing["status"] != value)
        {
            existing["lastTransitionTime"] = now;
        }

        existing["status"] = value;
        existing["reason"] = reason;
        existing["message"] = message;
        existing["lastProbeTime"] = null;
        existing.Remove("lastProbeTime");
    }

    public static string? ConditionStatus(JsonObject item, string type) =>
        (string?)item["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c?["type"] == type)?["status"];

    /// <summary>A short stable hash of a JSON value (pod template revisions).</summary>
    public static string Hash(JsonNode? value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value?.ToJsonString() ?? "")))[..10];

    public static long Number(JsonNode? node, long fallback) => JsonNumbers.ReadLong(node) ?? fallback;
}
