using System.Globalization;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Binds pending pods to nodes that fit: Ready and schedulable, matching nodeSelector and required node affinity,
/// tolerating every NoSchedule/NoExecute taint, with room for the pod's requests (cpu, memory, GPUs, pods). A pod
/// that fits nowhere gets <c>PodScheduled=False</c>, reason <c>Unschedulable</c>, and a FailedScheduling event.
/// </summary>
internal sealed class Scheduler : ISimulatedController
{
    private static readonly string[] s_checkedResources = ["cpu", "memory", "nvidia.com/gpu"];

    public void Reconcile(SimulationContext context)
    {
        var nodes = context.List(Kinds.Node).Where(n => !Objects.IsDeleting(n)).OrderBy(Objects.Name).ToList();
        var pods = context.List(Kinds.Pod);
        var used = pods.Where(p => (string?)p["spec"]?["nodeName"] is { Length: > 0 } && !IsFinished(p))
            .GroupBy(p => (string)p["spec"]!["nodeName"]!)
            .ToDictionary(g => g.Key, g => g.Select(Requests).ToList());

        foreach (var pod in pods.Where(p => (string?)p["spec"]?["nodeName"] is null or "" && !Objects.IsDeleting(p) && !IsFinished(p)))
        {
            var requests = Requests(pod);
            var reasons = new Dictionary<string, int>();
            var chosen = nodes
                .Select(node => (Node: node, Problem: Problem(pod, node, requests, used.GetValueOrDefault(Objects.Name(node)) ?? [])))
                .Where(candidate =>
                {
                    if (candidate.Problem is null)
                    {
                        return true;
                    }

                    reasons[candidate.Problem] = reasons.GetValueOrDefault(candidate.Problem) + 1;
                    return false;
                })
                .Select(c => c.Node)
                .OrderBy(n => used.GetValueOrDefault(Objects.Name(n))?.Count ?? 0)
                .FirstOrDefault();

            if (chosen is not null)
            {
                var bound = pod.DeepClone().AsObject();
                bound["spec"]!["nodeName"] = Objects.Name(chosen);
                var status = bound["status"] as JsonObject ?? new JsonObject { ["phase"] = "Pending" };
                bound["status"] = status;
                status["phase"] ??= "Pending";
                Objects.SetCondition(status, "PodScheduled", "True", null, null, context.Timestamp);
                context.UpdateSpecAndStatus(Kinds.Pod, pod, bound);
                EventRecorder.Record(context, pod, "Normal", "Scheduled", $"Successfully assigned {Objects.Namespace(pod)}/{Objects.Name(pod)} to {Objects.Name(chosen)}");
                used.TryAdd(Objects.Name(chosen), []);
                used[Objects.Name(chosen)].Add(requests);
                continue;
            }

            var message = $"0/{nodes.Count} nodes are available: " + (reasons.Count == 0
                ? "no nodes available to schedule pods."
                : string.Join(", ", reasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Value} {r.Key}")) + ".");
            var unschedulable = pod.DeepClone().AsObject();
            var podStatus = unschedulable["status"] as JsonObject ?? new JsonObject { ["phase"] = "Pending" };
            unschedulable["status"] = podStatus;
            podStatus["phase"] ??= "Pending";
            var previous = pod["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c?["type"] == "PodScheduled")?["message"]?.ToString();
            Objects.SetCondition(podStatus, "PodScheduled", "False", "Unschedulable", message, context.Timestamp);
            context.Update(Kinds.Pod, pod, unschedulable, status: true);
            if (previous != message)
            {
                EventRecorder.Record(context, pod, "Warning", "FailedScheduling", message);
            }
        }
    }

    private static string? Problem(JsonObject pod, JsonObject node, Dictionary<string, decimal> requests, List<Dictionary<string, decimal>> onNode)
    {
        if (Objects.ConditionStatus(node, "Ready") != "True")
        {
            return "node(s) were not ready";
        }

        if (node["spec"]?["unschedulable"]?.GetValue<bool>() == true)
        {
            return "node(s) were unschedulable";
        }

        var labels = Objects.Labels(node);
        if (pod["spec"]?["nodeSelector"] is JsonObject selector && selector.Any(s => !labels.TryGetValue(s.Key, out var v) || v != (string?)s.Value))
        {
            return "node(s) didn't match Pod's node affinity/selector";
        }

        if (pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"] is JsonArray terms &&
            !terms.Any(term => (term?["matchExpressions"]?.AsArray() ?? []).All(e => Objects.Requirement(e!.AsObject(), labels)) &&
                               (term?["matchFields"]?.AsArray() ?? []).All(f => Objects.Requirement(f!.AsObject(), new Dictionary<string, string> { ["metadata.name"] = Objects.Name(node) }))))
        {
            return "node(s) didn't match Pod's node affinity/selector";
        }

        var tolerations = pod["spec"]?["tolerations"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        foreach (var taint in node["spec"]?["taints"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var effect = (string?)taint["effect"];
            if (effect is "NoSchedule" or "NoExecute" && !tolerations.Any(t => Tolerates(t, taint)))
            {
                return $"node(s) had untolerated taint {{{taint["key"]}: {taint["value"]}}}";
            }
        }

        var allocatable = node["status"]?["allocatable"] as JsonObject ?? [];
        foreach (var resource in requests.Keys.Union(s_checkedResources))
        {
            var wanted = requests.GetValueOrDefault(resource);
            if (wanted == 0)
            {
                continue;
            }

            var available = Quantities.Parse((string?)allocatable[resource]?.ToString()) - onNode.Sum(r => r.GetValueOrDefault(resource));
            if (wanted > available)
            {
                return $"Insufficient {resource}";
            }
        }

        var maxPods = Quantities.Parse(allocatable["pods"]?.ToString() ?? "110");
        return onNode.Count + 1 > maxPods ? "Too many pods" : null;
    }

    private static bool Tolerates(JsonObject toleration, JsonObject taint)
    {
        var key = (string?)toleration["key"];
        var op = (string?)toleration["operator"] ?? "Equal";
        var effect = (string?)toleration["effect"];
        return (string.IsNullOrEmpty(key) ? op == "Exists" : key == (string?)taint["key"]) &&
               (op == "Exists" || (string?)toleration["value"] == (string?)taint["value"]) &&
               (string.IsNullOrEmpty(effect) || effect == (string?)taint["effect"]);
    }

    /// <summary>The pod's requests: containers summed, init containers at their maximum; limits stand in for missing requests.</summary>
    public static Dictionary<string, decimal> Requests(JsonObject pod)
    {
        var total = new Dictionary<string, decimal>();
        foreach (var container in pod["spec"]?["containers"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            foreach (var (resource, amount) in ContainerRequests(container))
            {
                total[resource] = total.GetValueOrDefault(resource) + amount;
            }
        }

        foreach (var container in pod["spec"]?["initContainers"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            foreach (var (resource, amount) in ContainerRequests(container))
            {
                total[resource] = Math.Max(total.GetValueOrDefault(resource), amount);
            }
        }

        return total;
    }

    private static Dictionary<string, decimal> ContainerRequests(JsonObject container)
    {
        var requests = new Dictionary<string, decimal>();
        foreach (var source in new[] { container["resources"]?["limits"], container["resources"]?["requests"] })
        {
            foreach (var (resource, value) in source?.AsObject() ?? [])
            {
                requests[resource] = Quantities.Parse(value?.ToString());
            }
        }

        return requests;
    }

    public static bool IsFinished(JsonObject pod) => (string?)pod["status"]?["phase"] is "Succeeded" or "Failed";

    internal static string Format(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
