using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// The kubelet side of the pods LocalCluster's real kubelet cannot run (their image or a volume is not runnable here),
/// without containers, saying so in a <c>localcluster.kaito.sh/Simulated</c> condition and a Simulated event: a bound pod starts after <see cref="SimulationOptions.PodStartDelay"/>,
/// turns Ready after <see cref="SimulationOptions.PodReadyDelay"/> (its probes passing), and a Job's pod finishes after
/// <see cref="SimulationOptions.JobDuration"/> or as its Job's <c>localcluster.kaito.sh/outcome</c> annotation says
/// (failing with <c>localcluster.kaito.sh/exit-code</c>, 1 by default, and <c>localcluster.kaito.sh/message</c>).
/// </summary>
internal sealed class PodLifecycle(Func<JsonObject, string?> simulated) : ISimulatedController
{
    public const string SimulatedCondition = "localcluster.kaito.sh/Simulated";

    public const string OutcomeAnnotation = "localcluster.kaito.sh/outcome";
    public const string MessageAnnotation = "localcluster.kaito.sh/message";
    public const string ExitCodeAnnotation = "localcluster.kaito.sh/exit-code";

    public void Reconcile(SimulationContext context)
    {
        var jobs = context.List(Kinds.Job).ToDictionary(Objects.Uid);
        var takenIps = context.List(Kinds.Pod).Where(p => !Scheduler.IsFinished(p)).Select(p => (string?)p["status"]?["podIP"]).OfType<string>().ToHashSet();
        foreach (var pod in context.List(Kinds.Pod))
        {
            if (Objects.IsDeleting(pod) && (string?)pod["spec"]?["nodeName"] is not (null or "") && simulated(pod) is not null)
            {
                // A graceful deletion of a simulated pod: no containers to stop, so the simulated kubelet removes it.
                context.Delete(Kinds.Pod, pod);
                continue;
            }

            if ((string?)pod["spec"]?["nodeName"] is null or "" || Objects.IsDeleting(pod) || Scheduler.IsFinished(pod))
            {
                continue;
            }

            if (simulated(pod) is not { } why)
            {
                continue; // the kubelet runs it for real
            }

            var updated = pod.DeepClone().AsObject();
            var status = updated["status"] as JsonObject ?? [];
            updated["status"] = status;
            var started = context.Time(status["startTime"]);
            if (started is null)
            {
                Objects.SetCondition(status, SimulatedCondition, "True", "NotRunnableLocally", why, context.Timestamp);
                EventRecorder.Record(context, pod, "Normal", "Simulated", why);
                status["phase"] = "Pending";
                status["startTime"] = context.Timestamp;
                status["hostIP"] = LoopbackAddresses.Node;
                Objects.SetCondition(status, "Initialized", "True", null, null, context.Timestamp);
                Objects.SetCondition(status, "Ready", "False", "ContainersNotReady", "containers with unready status", context.Timestamp);
                Objects.SetCondition(status, "ContainersReady", "False", "ContainersNotReady", "containers with unready status", context.Timestamp);
                status["containerStatuses"] = Containers(pod, c => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } }, ready: false);
            }
            else if ((string?)status["phase"] == "Pending" && context.Now - started >= context.Options.PodStartDelay)
            {
                status["phase"] = "Running";
                var ip = LoopbackAddresses.PodIp(Objects.Uid(pod), takenIps);
                status["podIP"] = ip;
                status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip });
                status["containerStatuses"] = Containers(pod, _ => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = context.Timestamp } }, ready: false);
            }
            else if ((string?)status["phase"] == "Running")
            {
                var running = context.Time(status["containerStatuses"]?[0]?["state"]?["running"]?["startedAt"]) ?? context.Now;
                var job = JobOf(pod, jobs);
                var outcome = (string?)job?["metadata"]?["annotations"]?[OutcomeAnnotation];
                if (job is not null && outcome == "Failed" && context.Now - running >= context.Options.PodReadyDelay)
                {
                    var exitCode = int.TryParse((string?)job["metadata"]?["annotations"]?[ExitCodeAnnotation], System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : 1;
                    Finish(status, pod, succeeded: false, (string?)job["metadata"]?["annotations"]?[MessageAnnotation] ?? $"the container exited with code {exitCode}", context, exitCode);
                }
                else if (job is not null && outcome is null or "Succeeded" && context.Now - running >= context.Options.JobDuration)
                {
                    Finish(status, pod, succeeded: true, "Completed", context);
                }
                else if (context.Now - running >= context.Options.PodReadyDelay && Objects.ConditionStatus(updated, "Ready") != "True")
                {
                    Objects.SetCondition(status, "Ready", "True", null, null, context.Timestamp);
                    Objects.SetCondition(status, "ContainersReady", "True", null, null, context.Timestamp);
                    foreach (var container in status["containerStatuses"]?.AsArray().OfType<JsonObject>() ?? [])
                    {
                        container["ready"] = true;
                        container["started"] = true;
                    }
                }
            }

            context.Update(Kinds.Pod, pod, updated, status: true);
        }
    }

    private static void Finish(JsonObject status, JsonObject pod, bool succeeded, string message, SimulationContext context, int exitCode = 1)
    {
        status["phase"] = succeeded ? "Succeeded" : "Failed";
        Objects.SetCondition(status, "Ready", "False", "PodCompleted", null, context.Timestamp);
        Objects.SetCondition(status, "ContainersReady", "False", "PodCompleted", null, context.Timestamp);
        status["containerStatuses"] = Containers(pod, _ => new JsonObject
        {
            ["terminated"] = new JsonObject
            {
                ["exitCode"] = succeeded ? 0 : exitCode,
                ["reason"] = succeeded ? "Completed" : "Error",
                ["message"] = message,
                ["finishedAt"] = context.Timestamp,
            },
        }, ready: false);
    }

    private static JsonArray Containers(JsonObject pod, Func<JsonObject, JsonObject> state, bool ready) =>
        new((pod["spec"]?["containers"]?.AsArray().OfType<JsonObject>() ?? []).Select(c => (JsonNode?)new JsonObject
        {
            ["name"] = (string?)c["name"],
            ["image"] = (string?)c["image"],
            ["imageID"] = "",
            ["ready"] = ready,
            ["restartCount"] = 0,
            ["started"] = false,
            ["state"] = state(c),
        }).ToArray());

    private static JsonObject? JobOf(JsonObject pod, Dictionary<string, JsonObject> jobs) =>
        pod["metadata"]?["ownerReferences"]?.AsArray()
            .Where(r => (string?)r?["kind"] == "Job")
            .Select(r => jobs.GetValueOrDefault((string)r!["uid"]!))
            .FirstOrDefault(j => j is not null);
}
