using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// StatefulSets: pods named <c>&lt;set&gt;-&lt;ordinal&gt;</c> with the pod-index and pod-name labels, a PVC per claim
/// template, template changes rolled out one pod at a time from the highest ordinal, and the replica counts in status.
/// </summary>
internal sealed class StatefulSetController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        var pods = context.List(Kinds.Pod);
        foreach (var set in context.List(Kinds.StatefulSet).Where(s => !Objects.IsDeleting(s)))
        {
            var name = Objects.Name(set);
            var ns = Objects.Namespace(set);
            var replicas = (int)Objects.Number(set["spec"]?["replicas"], 1);
            var template = set["spec"]?["template"] as JsonObject ?? [];
            var revision = $"{name}-{Objects.Hash(template)}";
            var owned = pods.Where(p => Objects.IsOwnedBy(p, set)).ToDictionary(Objects.Name);

            for (var ordinal = 0; ordinal < replicas; ordinal++)
            {
                var podName = $"{name}-{ordinal}";
                if (!owned.ContainsKey(podName))
                {
                    EnsureClaims(context, set, ordinal);
                    context.Create(Kinds.Pod, NewPod(set, template, podName, ordinal, revision));
                }
            }

            foreach (var (podName, pod) in owned)
            {
                if (Ordinal(podName, name) >= replicas && !Objects.IsDeleting(pod))
                {
                    context.Delete(Kinds.Pod, pod);
                }
            }

            // Roll a changed template: replace the highest-ordinal outdated pod once every other pod is ready.
            var outdated = owned.Values.Where(p => Objects.Labels(p).GetValueOrDefault("controller-revision-hash") != revision && !Objects.IsDeleting(p))
                .OrderByDescending(p => Ordinal(Objects.Name(p), name)).FirstOrDefault();
            if (outdated is not null && owned.Values.Where(p => p != outdated).All(p => Objects.ConditionStatus(p, "Ready") == "True"))
            {
                context.Delete(Kinds.Pod, outdated);
            }

            var current = owned.Values.Where(p => !Objects.IsDeleting(p) && Ordinal(Objects.Name(p), name) < replicas).ToList();
            var updated = set.DeepClone().AsObject();
            var ready = current.Count(p => Objects.ConditionStatus(p, "Ready") == "True");
            var upToDate = current.Count(p => Objects.Labels(p).GetValueOrDefault("controller-revision-hash") == revision);
            updated["status"] = new JsonObject
            {
                ["observedGeneration"] = Objects.Number(set["metadata"]?["generation"], 1),
                ["replicas"] = current.Count,
                ["readyReplicas"] = ready,
                ["availableReplicas"] = ready,
                ["currentReplicas"] = upToDate,
                ["updatedReplicas"] = upToDate,
                ["currentRevision"] = revision,
                ["updateRevision"] = revision,
                ["collisionCount"] = 0,
            };
            context.Update(Kinds.StatefulSet, set, updated, status: true);
        }
    }

    private static JsonObject NewPod(JsonObject set, JsonObject template, string podName, int ordinal, string revision)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = template["metadata"]?.DeepClone() ?? new JsonObject(),
            ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
        };
        var metadata = pod["metadata"]!.AsObject();
        metadata["name"] = podName;
        metadata["namespace"] = Objects.Namespace(set);
        var labels = metadata["labels"] as JsonObject ?? [];
        metadata["labels"] = labels;
        labels["apps.kubernetes.io/pod-index"] = ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture);
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        labels["controller-revision-hash"] = revision;
        metadata["ownerReferences"] = new JsonArray(Objects.ControllerReference(set));
        var spec = pod["spec"]!.AsObject();
        spec["hostname"] = podName;
        if ((string?)set["spec"]?["serviceName"] is { Length: > 0 } service)
        {
            spec["subdomain"] = service;
        }

        foreach (var claim in set["spec"]?["volumeClaimTemplates"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var claimName = (string)claim["metadata"]!["name"]!;
            var volumes = spec["volumes"] as JsonArray ?? [];
            spec["volumes"] = volumes;
            volumes.Add(new JsonObject
            {
                ["name"] = claimName,
                ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = $"{claimName}-{Objects.Name(set)}-{ordinal}" },
            });
        }

        return pod;
    }

    private static void EnsureClaims(SimulationContext context, JsonObject set, int ordinal)
    {
        foreach (var claim in set["spec"]?["volumeClaimTemplates"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var name = $"{claim["metadata"]!["name"]}-{Objects.Name(set)}-{ordinal}";
            if (context.List(Kinds.PersistentVolumeClaim).Any(c => Objects.Name(c) == name && Objects.Namespace(c) == Objects.Namespace(set)))
            {
                continue;
            }

            var pvc = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PersistentVolumeClaim",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = Objects.Namespace(set),
                    ["labels"] = set["spec"]?["selector"]?["matchLabels"]?.DeepClone(),
                },
                ["spec"] = claim["spec"]?.DeepClone(),
                ["status"] = new JsonObject { ["phase"] = "Bound", ["capacity"] = claim["spec"]?["resources"]?["requests"]?.DeepClone() },
            };

            // The set's PVC retention policy decides whether claims outlive it; KAITO's says Delete when the set goes.
            if ((string?)set["spec"]?["persistentVolumeClaimRetentionPolicy"]?["whenDeleted"] == "Delete")
            {
                pvc["metadata"]!["ownerReferences"] = new JsonArray(Objects.ControllerReference(set));
            }

            context.Create(Kinds.PersistentVolumeClaim, pvc);
        }
    }

    private static int Ordinal(string podName, string setName) =>
        int.TryParse(podName.AsSpan(setName.Length + 1), System.Globalization.CultureInfo.InvariantCulture, out var ordinal) ? ordinal : int.MaxValue;
}
