using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Jobs: one pod at a time until one succeeds (Complete) or the failures pass the backoff limit (Failed with reason
/// BackoffLimitExceeded), or a failed pod matches a <c>podFailurePolicy</c> FailJob rule (reason PodFailurePolicy), with
/// active, ready, succeeded and failed counts and the start and completion times.
/// </summary>
internal sealed class JobController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        var pods = context.List(Kinds.Pod);
        foreach (var job in context.List(Kinds.Job).Where(j => !Objects.IsDeleting(j)))
        {
            if (Objects.ConditionStatus(job, "Complete") == "True" || Objects.ConditionStatus(job, "Failed") == "True")
            {
                continue;
            }

            var owned = pods.Where(p => Objects.IsOwnedBy(p, job)).ToList();
            var succeeded = owned.Count(p => (string?)p["status"]?["phase"] == "Succeeded");
            var failed = owned.Count(p => (string?)p["status"]?["phase"] == "Failed");
            var active = owned.Count(p => !Scheduler.IsFinished(p) && !Objects.IsDeleting(p));
            var backoffLimit = Objects.Number(job["spec"]?["backoffLimit"], 6);
            var suspended = job["spec"]?["suspend"]?.GetValue<bool>() == true;

            var policyFailure = owned.Select(p => PolicyFailure(job, p)).FirstOrDefault(m => m is not null);
            if (succeeded == 0 && failed <= backoffLimit && active == 0 && !suspended && policyFailure is null)
            {
                context.Create(Kinds.Pod, NewPod(job));
                active = 1;
            }

            var updated = job.DeepClone().AsObject();
            var status = updated["status"] as JsonObject ?? [];
            updated["status"] = status;
            status["startTime"] ??= context.Timestamp;
            status["active"] = active;
            status["ready"] = owned.Count(p => Objects.ConditionStatus(p, "Ready") == "True");
            status["succeeded"] = succeeded;
            status["failed"] = failed;
            if (succeeded > 0)
            {
                status["active"] = 0;
                status["completionTime"] = context.Timestamp;
                Objects.SetCondition(status, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", context.Timestamp);
                Objects.SetCondition(status, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", context.Timestamp);
            }
            else if (policyFailure is not null)
            {
                status["active"] = 0;
                Objects.SetCondition(status, "FailureTarget", "True", "PodFailurePolicy", policyFailure, context.Timestamp);
                Objects.SetCondition(status, "Failed", "True", "PodFailurePolicy", policyFailure, context.Timestamp);
            }
            else if (failed > backoffLimit)
            {
                status["active"] = 0;
                Objects.SetCondition(status, "FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", context.Timestamp);
                Objects.SetCondition(status, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", context.Timestamp);
            }

            context.Update(Kinds.Job, job, updated, status: true);
        }
    }

    /// <summary>
    /// The message of the first <c>podFailurePolicy</c> FailJob rule a failed pod matches by its containers' exit codes
    /// (operator In or NotIn, optionally one container), as the Job controller words it; null when none does.
    /// </summary>
    private static string? PolicyFailure(JsonObject job, JsonObject pod)
    {
        if ((string?)pod["status"]?["phase"] != "Failed" || job["spec"]?["podFailurePolicy"]?["rules"] is not JsonArray rules)
        {
            return null;
        }

        for (var index = 0; index < rules.Count; index++)
        {
            if ((string?)rules[index]?["action"] != "FailJob" || rules[index]?["onExitCodes"] is not JsonObject codes)
            {
                continue;
            }

            var values = (codes["values"]?.AsArray() ?? []).Select(v => v!.GetValue<int>()).ToHashSet();
            foreach (var container in pod["status"]?["containerStatuses"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                var name = (string?)container["name"];
                if (container["state"]?["terminated"]?["exitCode"] is not { } exit || (string?)codes["containerName"] is { } only && only != name)
                {
                    continue;
                }

                var code = exit.GetValue<int>();
                if (code != 0 && values.Contains(code) == ((string?)codes["operator"] != "NotIn"))
                {
                    return $"Container {name} for pod {Objects.Namespace(pod)}/{Objects.Name(pod)} failed with exit code {code} matching FailJob rule at index {index}";
                }
            }
        }

        return null;
    }

    private static JsonObject NewPod(JsonObject job)
    {
        var template = job["spec"]?["template"] as JsonObject ?? [];
        var metadata = template["metadata"]?.DeepClone().AsObject() ?? [];
        var name = Objects.Name(job);
        metadata["name"] = $"{name}-{Guid.NewGuid():N}"[..(Math.Min(name.Length, 57) + 6)];
        metadata["namespace"] = Objects.Namespace(job);
        var labels = metadata["labels"] as JsonObject ?? [];
        metadata["labels"] = labels;
        labels["job-name"] = name;
        labels["batch.kubernetes.io/job-name"] = name;
        labels["controller-uid"] = Objects.Uid(job);
        labels["batch.kubernetes.io/controller-uid"] = Objects.Uid(job);
        metadata["ownerReferences"] = new JsonArray(Objects.ControllerReference(job));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
        };
    }
}
