using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>pods/log</c> for pods that run no processes: each container's log is what the simulated kubelet did with it —
/// created, started, ready, and how it ended, with its termination message (a tuning job's one-line cause) — as plain
/// text, honouring <c>container</c>, <c>tailLines</c>, <c>timestamps</c> and <c>previous</c> as the kubelet does.
/// </summary>
public static class PodLogs
{
    /// <summary>The container a log request is for, checked as the API server checks it.</summary>
    public static string Container(JsonObject pod, IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(query);
        var name = (string?)pod["metadata"]?["name"] ?? "";
        var containers = (pod["spec"]?["containers"]?.AsArray() ?? []).Concat(pod["spec"]?["initContainers"]?.AsArray() ?? [])
            .Select(c => (string?)c?["name"]).OfType<string>().ToList();
        var container = (string?)query["container"];
        if (string.IsNullOrEmpty(container))
        {
            var regular = (pod["spec"]?["containers"]?.AsArray() ?? []).Select(c => (string?)c?["name"]).OfType<string>().ToList();
            container = regular.Count == 1 ? regular[0]
                : throw ApiException.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(' ', regular)}]");
        }
        else if (!containers.Contains(container))
        {
            throw ApiException.BadRequest($"container {container} is not valid for pod {name}");
        }

        return container;
    }

    public static string Render(JsonObject pod, IQueryCollection query)
    {
        var container = Container(pod, query);
        var name = (string?)pod["metadata"]?["name"] ?? "";

        if (query["previous"] == "true")
        {
            throw ApiException.BadRequest($"previous terminated container \"{container}\" in pod \"{name}\" not found");
        }

        var status = (pod["status"]?["containerStatuses"]?.AsArray() ?? []).Concat(pod["status"]?["initContainerStatuses"]?.AsArray() ?? [])
            .FirstOrDefault(s => (string?)s?["name"] == container);
        var state = status?["state"];
        if (state?["running"] is null && state?["terminated"] is null)
        {
            var reason = (string?)state?["waiting"]?["reason"] ?? "ContainerCreating";
            throw ApiException.BadRequest($"container \"{container}\" in pod \"{name}\" is waiting to start: {reason}");
        }

        var lines = new List<(string Time, string Text)>
        {
            ((string?)pod["status"]?["startTime"] ?? "", $"[localcluster] container {container} created from image {(string?)status?["image"]}"),
        };
        if (state["running"]?["startedAt"] is { } started)
        {
            lines.Add(((string?)started ?? "", $"[localcluster] container {container} started"));
            if (status?["ready"]?.GetValue<bool>() == true)
            {
                lines.Add(((string?)started ?? "", $"[localcluster] container {container} is ready"));
            }
        }

        if (state["terminated"] is JsonObject terminated)
        {
            var exit = terminated["exitCode"]?.GetValue<int>() ?? 0;
            lines.Add(((string?)terminated["finishedAt"] ?? "", string.Create(CultureInfo.InvariantCulture,
                $"[localcluster] container {container} exited with code {exit} ({(string?)terminated["reason"]})")));
            if ((string?)terminated["message"] is { Length: > 0 } message && message != "Completed")
            {
                lines.Add(((string?)terminated["finishedAt"] ?? "", message));
            }
        }

        if (int.TryParse(query["tailLines"], CultureInfo.InvariantCulture, out var tail) && tail >= 0)
        {
            lines = lines.Skip(Math.Max(0, lines.Count - tail)).ToList();
        }

        var timestamps = query["timestamps"] == "true";
        var text = new StringBuilder();
        foreach (var (time, line) in lines)
        {
            text.Append(timestamps ? $"{time} " : "").Append(line).Append('\n');
        }

        return text.ToString();
    }
}
