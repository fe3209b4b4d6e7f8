using Kaito.LocalCluster.Storage;
using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Resources;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>meta.k8s.io/v1 Table</c> output, what <c>kubectl get</c> asks for: a custom resource's printer columns evaluated
/// from their JSONPath, and the usual columns of the built-in kinds.
/// </summary>
public static class Tables
{
    public const string MediaType = "as=Table";

    private sealed record Column(string Name, string Type, string Format, string Description, int Priority, Func<JsonObject, DateTimeOffset, JsonNode?> Cell);

    public static bool IsRequested(string? accept) => accept?.Contains(MediaType, StringComparison.Ordinal) == true;

    /// <summary>A Table of <paramref name="items"/> (a list, or one object, or one watch event's object).</summary>
    public static JsonObject Render(ResourceType type, string version, IEnumerable<JsonObject> items, string? resourceVersion,
        string? includeObject, DateTimeOffset now, string? continueToken = null)
    {
        var columns = ColumnsFor(type, version);
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var row = new JsonObject { ["cells"] = new JsonArray(columns.Select(c => c.Cell(item, now)).ToArray()) };
            row["object"] = includeObject switch
            {
                "None" => null,
                "Object" => item.DeepClone(),
                _ => new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = item["metadata"]?.DeepClone(),
                },
            };
            rows.Add(row);
        }

        var metadata = new JsonObject { ["resourceVersion"] = resourceVersion };
        if (continueToken is not null)
        {
            metadata["continue"] = continueToken;
        }

        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = metadata,
            ["columnDefinitions"] = new JsonArray(columns.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            }).ToArray()),
            ["rows"] = rows,
        };
    }

    private static List<Column> ColumnsFor(ResourceType type, string version)
    {
        var name = new Column("Name", "string", "name", "Name must be unique within a namespace.", 0, (o, _) => (string?)o["metadata"]?["name"]);
        var age = new Column("Age", "date", "", "CreationTimestamp is when the object was created.", 0, (o, now) => Age(o["metadata"]?["creationTimestamp"], now));

        if (type.PrinterColumns?.GetValueOrDefault(version) is { Count: > 0 } custom)
        {
            return [name, .. custom.Select(c => new Column(c.Name, c.Type, c.Format ?? "", c.Description ?? "", c.Priority, (o, now) => Cell(o, c, now)))];
        }

        return type.GroupResource switch
        {
            "/pods" => [name,
                Text("Ready", o => $"{Count(o["status"]?["containerStatuses"], s => s?["ready"]?.GetValue<bool>() == true)}/{o["spec"]?["containers"]?.AsArray().Count ?? 0}"),
                Text("Status", PodStatus),
                Text("Restarts", o => Sum(o["status"]?["containerStatuses"], s => JsonNumbers.ReadInt(s?["restartCount"]) ?? 0).ToString(CultureInfo.InvariantCulture)),
                age,
                Text("Node", o => (string?)o["spec"]?["nodeName"] ?? "<none>", priority: 1)],
            "/nodes" => [name,
                Text("Status", o => ConditionStatus(o, "Ready") == "True" ? "Ready" : "NotReady"),
                Text("Roles", _ => "<none>"),
                age,
                Text("Version", o => (string?)o["status"]?["nodeInfo"]?["kubeletVersion"] ?? "")],
            "/services" => [name,
                Text("Type", o => (string?)o["spec"]?["type"] ?? "ClusterIP"),
                Text("Cluster-IP", o => (string?)o["spec"]?["clusterIP"] ?? "<none>"),
                Text("External-IP", o => o["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"]?.ToString() ?? "<none>"),
                Text("Port(s)", o => Ports(o)),
                age],
            "/namespaces" => [name, Text("Status", o => (string?)o["status"]?["phase"] ?? "Active"), age],
            "/configmaps" => [name, Text("Data", o => (o["data"]?.AsObject().Count ?? 0) + (o["binaryData"]?.AsObject().Count ?? 0)), age],
            "/secrets" => [name, Text("Type", o => (string?)o["type"] ?? "Opaque"), Text("Data", o => o["data"]?.AsObject().Count ?? 0), age],
            "apps/statefulsets" => [name, Text("Ready", o => $"{JsonNumbers.ReadInt(o["status"]?["readyReplicas"]) ?? 0}/{JsonNumbers.ReadInt(o["spec"]?["replicas"]) ?? 1}"), age],
            "apps/deployments" => [name,
                Text("Ready", o => $"{JsonNumbers.ReadInt(o["status"]?["readyReplicas"]) ?? 0}/{JsonNumbers.ReadInt(o["spec"]?["replicas"]) ?? 1}"),
                Text("Up-to-date", o => JsonNumbers.ReadInt(o["status"]?["updatedReplicas"]) ?? 0),
                Text("Available", o => JsonNumbers.ReadInt(o["status"]?["availableReplicas"]) ?? 0),
                age],
            "batch/jobs" => [name,
                Text("Status", o => ConditionStatus(o, "Complete") == "True" ? "Complete" : ConditionStatus(o, "Failed") == "True" ? "Failed" : "Running"),
                Text("Completions", o => $"{JsonNumbers.ReadInt(o["status"]?["succeeded"]) ?? 0}/{JsonNumbers.ReadInt(o["spec"]?["completions"]) ?? 1}"),
                age],
            "coordination.k8s.io/leases" => [name, Text("Holder", o => (string?)o["spec"]?["holderIdentity"] ?? ""), age],
            _ => [name, age],
        };

        static Column Text(string title, Func<JsonObject, object> value, int priority = 0) =>
            new(title, "string", "", title, priority, (o, _) => JsonValue.Create(value(o).ToString()));
    }

    private static JsonValue? Cell(JsonObject item, PrinterColumn column, DateTimeOffset now)
    {
        var text = JsonPath.Evaluate(item, column.JsonPath);
        if (text.Length == 0)
        {
            return null;
        }

        return column.Type switch
        {
            "date" => Age(JsonValue.Create(text), now),
            "integer" when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => JsonValue.Create(i),
            "number" when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            "boolean" when bool.TryParse(text, out var b) => JsonValue.Create(b),
            _ => JsonValue.Create(text),
        };
    }

    /// <summary>
    /// kubectl's pod STATUS (printPod in kubernetes' pkg/printers/internalversion/printers.go): the phase, unless an init
    /// container is still working (<c>Init:1/2</c>, <c>Init:Error</c>, <c>Init:CrashLoopBackOff</c>) or a container is
    /// waiting or terminated with a reason (<c>CrashLoopBackOff</c>, <c>CreateContainerConfigError</c>, <c>Error</c>,
    /// <c>Completed</c>), and <c>Terminating</c> while it is deleted.
    /// </summary>
    public static string PodStatus(JsonObject pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var status = pod["status"];
        var reason = (string?)status?["reason"] ?? (string?)status?["phase"] ?? "Pending";
        var initStatuses = status?["initContainerStatuses"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var initCount = pod["spec"]?["initContainers"]?.AsArray().Count ?? 0;
        var initializing = false;
        for (var i = 0; i < initStatuses.Count; i++)
        {
            var state = initStatuses[i]["state"];
            if (state?["terminated"] is JsonObject done && JsonNumbers.ReadInt(done["exitCode"]) == 0)
            {
                continue;
            }

            initializing = true;
            reason = state?["terminated"] is JsonObject terminated
                ? "Init:" + ((string?)terminated["reason"] is { Length: > 0 } r ? r : $"ExitCode:{JsonNumbers.ReadInt(terminated["exitCode"])}")
                : (string?)state?["waiting"]?["reason"] is { Length: > 0 } waiting && waiting != "PodInitializing"
                    ? "Init:" + waiting
                    : $"Init:{i}/{initCount}";
            break;
        }

        if (!initializing)
        {
            var running = false;
            foreach (var container in (status?["containerStatuses"]?.AsArray().OfType<JsonObject>() ?? []).Reverse())
            {
                var state = container["state"];
                if ((string?)state?["waiting"]?["reason"] is { Length: > 0 } waiting)
                {
                    reason = waiting;
                }
                else if (state?["terminated"] is JsonObject terminated)
                {
                    reason = (string?)terminated["reason"] is { Length: > 0 } r ? r : $"ExitCode:{JsonNumbers.ReadInt(terminated["exitCode"])}";
                }
                else if (state?["running"] is not null && container["ready"]?.GetValue<bool>() == true)
                {
                    running = true;
                }
            }

            if (reason == "Completed" && running)
            {
                reason = ConditionStatus(pod, "Ready") == "True" ? "Running" : "NotReady";
            }
        }

        return pod["metadata"]?["deletionTimestamp"] is not null ? "Terminating" : reason;
    }

    private static string? ConditionStatus(JsonObject item, string type) =>
        (string?)item["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c?["type"] == type)?["status"];

    private static int Count(JsonNode? list, Func<JsonNode?, bool> predicate) => list?.AsArray().Count(predicate) ?? 0;

    private static int Sum(JsonNode? list, Func<JsonNode?, int> value) => list?.AsArray().Sum(value) ?? 0;

    private static string Ports(JsonObject service)
    {
        var ports = service["spec"]?["ports"]?.AsArray().Select(p =>
            $"{p?["port"]}{(p?["nodePort"] is { } node ? ":" + node : "")}/{(string?)p?["protocol"] ?? "TCP"}").ToList();
        return ports is { Count: > 0 } ? string.Join(",", ports) : "<none>";
    }

    private static JsonValue? Age(JsonNode? timestamp, DateTimeOffset now)
    {
        if (timestamp is null || !DateTimeOffset.TryParse(timestamp.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created))
        {
            return JsonValue.Create("<unknown>");
        }

        return JsonValue.Create(HumanDuration(now - created));
    }

    /// <summary>kubectl's short human durations: 45s, 5m30s, 3h10m, 2d4h, 120d, 3y.</summary>
    public static string HumanDuration(TimeSpan age)
    {
        var seconds = (long)Math.Max(0, age.TotalSeconds);
        var minutes = seconds / 60;
        var hours = minutes / 60;
        var days = hours / 24;
        return seconds switch
        {
            < 120 => $"{seconds}s",
            _ when minutes < 10 => seconds % 60 == 0 ? $"{minutes}m" : $"{minutes}m{seconds % 60}s",
            _ when minutes < 180 => $"{minutes}m",
            _ when hours < 8 => minutes % 60 == 0 ? $"{hours}h" : $"{hours}h{minutes % 60}m",
            _ when hours < 48 => $"{hours}h",
            _ when hours < 24 * 8 => hours % 24 == 0 ? $"{days}d" : $"{days}d{hours % 24}h",
            _ when days < 365 * 2 => $"{days}d",
            _ => $"{days / 365}y",
        };
    }
}
