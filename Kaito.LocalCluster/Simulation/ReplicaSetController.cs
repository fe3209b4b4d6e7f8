using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Deployments and ReplicaSets: a Deployment owns one ReplicaSet per pod template (the old ones scaled to zero once
/// the new one is ready), a ReplicaSet owns its pods, and both report their replica counts.
/// </summary>
internal sealed class ReplicaSetController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        ReconcileDeployments(context);
        ReconcileReplicaSets(context);
    }

    private static void ReconcileDeployments(SimulationContext context)
    {
        var sets = context.List(Kinds.ReplicaSet);
        foreach (var deployment in context.List(Kinds.Deployment).Where(d => !Objects.IsDeleting(d)))
        {
            var template = deployment["spec"]?["template"] as JsonObject ?? [];
            var hash = Objects.Hash(template);
            var name = $"{Objects.Name(deployment)}-{hash}";
            var replicas = Objects.Number(deployment["spec"]?["replicas"], 1);
            var owned = sets.Where(s => Objects.IsOwnedBy(s, deployment)).ToList();
            var current = owned.FirstOrDefault(s => Objects.Name(s) == name);
            if (current is null)
            {
                var metadata = template["metadata"]?.DeepClone().AsObject() ?? [];
                var labels = metadata["labels"] as JsonObject ?? [];
                labels["pod-template-hash"] = hash;
                var podTemplate = template.DeepClone().AsObject();
                podTemplate["metadata"] = metadata.DeepClone();
                podTemplate["metadata"]!["labels"] = labels.DeepClone();
                var selector = deployment["spec"]?["selector"]?.DeepClone().AsObject() ?? [];
                var matchLabels = selector["matchLabels"] as JsonObject ?? [];
                matchLabels["pod-template-hash"] = hash;
                selector["matchLabels"] = matchLabels;
                context.Create(Kinds.ReplicaSet, new JsonObject
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "ReplicaSet",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["namespace"] = Objects.Namespace(deployment),
                        ["labels"] = labels.DeepClone(),
                        ["ownerReferences"] = new JsonArray(Objects.ControllerReference(deployment)),
                    },
                    ["spec"] = new JsonObject { ["replicas"] = replicas, ["selector"] = selector, ["template"] = podTemplate },
                });
                continue;
            }

            Scale(context, current, replicas);
            var currentReady = Objects.Number(current["status"]?["readyReplicas"], 0);
            foreach (var old in owned.Where(s => s != current))
            {
                if (currentReady >= replicas)
                {
                    Scale(context, old, 0);
                }
            }

            var ready = owned.Sum(s => Objects.Number(s["status"]?["readyReplicas"], 0));
            var updated = deployment.DeepClone().AsObject();
            var status = new JsonObject
            {
                ["observedGeneration"] = Objects.Number(deployment["metadata"]?["generation"], 1),
                ["replicas"] = owned.Sum(s => Objects.Number(s["status"]?["replicas"], 0)),
                ["updatedReplicas"] = Objects.Number(current["status"]?["replicas"], 0),
                ["readyReplicas"] = ready,
                ["availableReplicas"] = ready,
            };
            Objects.SetCondition(status, "Available", ready >= replicas ? "True" : "False",
                ready >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                ready >= replicas ? "Deployment has minimum availability." : "Deployment does not have minimum availability.", context.Timestamp);
            CarryTransitionTimes(deployment, status);
            updated["status"] = status;
            context.Update(Kinds.Deployment, deployment, updated, status: true);
        }
    }

    private static void ReconcileReplicaSets(SimulationContext context)
    {
        var pods = context.List(Kinds.Pod);
        foreach (var set in context.List(Kinds.ReplicaSet).Where(s => !Objects.IsDeleting(s)))
        {
            var replicas = Objects.Number(set["spec"]?["replicas"], 1);
            var owned = pods.Where(p => Objects.IsOwnedBy(p, set) && !Objects.IsDeleting(p)).OrderBy(Objects.Name).ToList();
            for (var i = owned.Count; i < replicas; i++)
            {
                var template = set["spec"]?["template"] as JsonObject ?? [];
                var metadata = template["metadata"]?.DeepClone().AsObject() ?? [];
                metadata["name"] = $"{Objects.Name(set)}-{Guid.NewGuid():N}"[..(Objects.Name(set).Length + 6)];
                metadata["namespace"] = Objects.Namespace(set);
                metadata["ownerReferences"] = new JsonArray(Objects.ControllerReference(set));
                context.Create(Kinds.Pod, new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Pod",
                    ["metadata"] = metadata,
                    ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
                });
            }

            foreach (var extra in owned.Skip((int)replicas))
            {
                context.Delete(Kinds.Pod, extra);
            }

            var kept = owned.Take((int)replicas).ToList();
            var ready = kept.Count(p => Objects.ConditionStatus(p, "Ready") == "True");
            var updated = set.DeepClone().AsObject();
            updated["status"] = new JsonObject
            {
                ["observedGeneration"] = Objects.Number(set["metadata"]?["generation"], 1),
                ["replicas"] = kept.Count,
                ["fullyLabeledReplicas"] = kept.Count,
                ["readyReplicas"] = ready,
                ["availableReplicas"] = ready,
            };
            context.Update(Kinds.ReplicaSet, set, updated, status: true);
        }
    }

    private static void Scale(SimulationContext context, JsonObject set, long replicas)
    {
        if (Objects.Number(set["spec"]?["replicas"], 1) == replicas)
        {
            return;
        }

        var scaled = set.DeepClone().AsObject();
        scaled["spec"]!["replicas"] = replicas;
        context.Update(Kinds.ReplicaSet, set, scaled, status: false);
    }

    private static void CarryTransitionTimes(JsonObject previous, JsonObject status)
    {
        foreach (var condition in status["conditions"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var old = previous["status"]?["conditions"]?.AsArray().OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == (string?)condition["type"]);
            if (old is not null && (string?)old["status"] == (string?)condition["status"])
            {
                condition["lastTransitionTime"] = old["lastTransitionTime"]?.DeepClone();
            }
        }
    }
}
