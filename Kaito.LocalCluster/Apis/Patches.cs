using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>The patch formats kubectl and controllers send: JSON patch, JSON merge patch and strategic merge patch.</summary>
public static class Patches
{
    public const string JsonPatch = "application/json-patch+json";
    public const string MergePatch = "application/merge-patch+json";
    public const string StrategicMergePatch = "application/strategic-merge-patch+json";
    public const string ApplyPatch = "application/apply-patch+yaml";

    // The list fields of the built-in kinds that strategic merge patch merges by key (patchMergeKey in the Go types).
    private static readonly Dictionary<string, string> s_mergeKeys = new()
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["imagePullSecrets"] = "name",
        ["conditions"] = "type",
        ["ownerReferences"] = "uid",
        ["hostAliases"] = "ip",
        ["topologySpreadConstraints"] = "topologyKey",
        // A Service's ports; a container's (ContainerPort objects) merge by containerPort, see MergeKey.
        ["ports"] = "port",
    };

    // Lists of primitives strategic merge patch treats as sets.
    private static readonly HashSet<string> s_primitiveSets = ["finalizers"];

    /// <summary>Applies an RFC 6902 JSON patch.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var operation in operations.Select(o => o!.AsObject()))
        {
            var op = (string?)operation["op"] ?? throw ApiException.BadRequest("json patch operation has no op");
            var path = (string?)operation["path"] ?? throw ApiException.BadRequest($"json patch {op} has no path");
            switch (op)
            {
                case "add":
                    document = Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "remove":
                    document = RemoveAt(document, path, out _);
                    break;
                case "replace":
                    document = RemoveAt(document, path, out _);
                    document = Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "move":
                    document = RemoveAt(document, (string)operation["from"]!, out var moved);
                    document = Add(document, path, moved);
                    break;
                case "copy":
                    document = Add(document, path, Resolve(document, (string)operation["from"]!)?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(document, path), operation["value"]))
                    {
                        throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                    }

                    break;
                default:
                    throw ApiException.BadRequest($"Unexpected kind: {op}");
            }
        }

        return document;
    }

    /// <summary>Applies an RFC 7386 JSON merge patch.</summary>
    public static JsonNode? ApplyMergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? targetObject.DeepClone().AsObject() : [];
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                result[name] = ApplyMergePatch(result[name], value);
            }
        }

        return result;
    }

    /// <summary>
    /// Applies a strategic merge patch: maps merge, lists of objects with a known merge key merge by that key, lists of
    /// primitives in <see cref="s_primitiveSets"/> are unions, other lists are replaced; <c>$patch: delete|replace</c>,
    /// <c>$retainKeys</c> and <c>$deleteFromPrimitiveList/…</c> directives are honoured, <c>$setElementOrder/…</c> ignored.
    /// </summary>
    public static JsonNode? ApplyStrategicMergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        if ((string?)patchObject["$patch"] == "replace")
        {
            var replacement = patchObject.DeepClone().AsObject();
            replacement.Remove("$patch");
            return replacement;
        }

        var result = target is JsonObject targetObject ? targetObject.DeepClone().AsObject() : [];
        foreach (var (name, value) in patchObject)
        {
            if (name.StartsWith("$setElementOrder/", StringComparison.Ordinal) || name is "$patch" or "$retainKeys")
            {
                continue;
            }

            if (name.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var list = name["$deleteFromPrimitiveList/".Length..];
                if (result[list] is JsonArray existing && value is JsonArray removals)
                {
                    result[list] = new JsonArray(existing.Where(e => !removals.Any(r => JsonNode.DeepEquals(e, r))).Select(e => e?.DeepClone()).ToArray());
                }

                continue;
            }

            if (value is null)
            {
                result.Remove(name);
            }
            else if (value is JsonArray patchList)
            {
                result[name] = MergeList(result[name] as JsonArray, patchList, name);
            }
            else
            {
                result[name] = ApplyStrategicMergePatch(result[name], value);
            }
        }

        if (patchObject["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(k => (string)k!).ToHashSet();
            foreach (var key in result.Select(p => p.Key).Where(k => !keep.Contains(k)).ToList())
            {
                result.Remove(key);
            }
        }

        return result;
    }

    /// <summary>
    /// The merge key of a list: by field name, except <c>ports</c>, which is a container's (merge key
    /// <c>containerPort</c>) when its entries are ContainerPorts, and a Service's (<c>port</c>) otherwise.
    /// </summary>
    private static string? MergeKey(string field, JsonArray? current, JsonArray patch) =>
        field == "ports" && (current ?? []).Concat(patch).Any(p => p is JsonObject port && port.ContainsKey("containerPort"))
            ? "containerPort"
            : s_mergeKeys.GetValueOrDefault(field);

    private static JsonArray MergeList(JsonArray? current, JsonArray patch, string field)
    {
        if (s_primitiveSets.Contains(field))
        {
            var union = (current ?? []).Select(e => e?.DeepClone()).ToList();
            foreach (var item in patch.Where(p => !union.Any(u => JsonNode.DeepEquals(u, p))))
            {
                union.Add(item?.DeepClone());
            }

            return new JsonArray(union.ToArray());
        }

        var key = MergeKey(field, current, patch);
        if (key is null || current is null || patch.Any(p => p is not JsonObject))
        {
            return new JsonArray(patch.Where(p => (string?)p?["$patch"] != "delete").Select(p => p?.DeepClone()).ToArray());
        }

        var merged = current.Select(e => e?.DeepClone()).ToList();
        foreach (var item in patch.Select(p => p!.AsObject()))
        {
            var id = item[key];
            var index = merged.FindIndex(m => m is JsonObject o && JsonNode.DeepEquals(o[key], id));
            if ((string?)item["$patch"] == "delete")
            {
                if (index >= 0)
                {
                    merged.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                merged[index] = ApplyStrategicMergePatch(merged[index], item);
            }
            else
            {
                merged.Add(ApplyStrategicMergePatch(null, item));
            }
        }

        return new JsonArray(merged.ToArray());
    }

    private static JsonNode? Resolve(JsonNode? document, string pointer)
    {
        foreach (var token in Tokens(pointer))
        {
            document = document switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, System.Globalization.CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: path {pointer} does not exist"),
            };
        }

        return document;
    }

    private static JsonNode Add(JsonNode document, string pointer, JsonNode? value)
    {
        var tokens = Tokens(pointer);
        if (tokens.Count == 0)
        {
            return value ?? throw ApiException.BadRequest("cannot replace the whole document with null");
        }

        var parent = Resolve(document, "/" + string.Join('/', tokens.SkipLast(1).Select(Escape)));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, System.Globalization.CultureInfo.InvariantCulture, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: add operation does not apply: doc is missing path: {pointer}");
        }

        return document;
    }

    private static JsonNode RemoveAt(JsonNode document, string pointer, out JsonNode? removed)
    {
        var tokens = Tokens(pointer);
        var parent = Resolve(document, "/" + string.Join('/', tokens.SkipLast(1).Select(Escape)));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                removed = o[last];
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, System.Globalization.CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default:
                throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: {pointer}");
        }

        if (removed is not null)
        {
            removed = removed.DeepClone();
        }

        return document;
    }

    private static List<string> Tokens(string pointer) =>
        pointer.Length == 0 ? [] : pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();

    private static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
