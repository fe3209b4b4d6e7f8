using k8s.Models;
using Kaito.Api.Names;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// Why a workspace's pods are not ready, when a pod says so — KAITO's InferenceReady reasons
/// (pkg/workspace/controllers/workspace_status.go): evicted, unschedulable, an image that cannot be pulled, a crash
/// loop, OOM, a container that cannot start, model weights that cannot be pulled (the puller's own words). Messages are at most 256 characters, as KAITO's.
/// </summary>
public static class PodFailures
{
    /// <summary>
    /// The first failure among <paramref name="pods"/> (by name), or null when none says why; with <paramref name="node"/>,
    /// a pod that is otherwise only not ready on a node under disk or memory pressure says so.
    /// </summary>
    public static (string Reason, string Message)? Of(IEnumerable<V1Pod> pods, Func<string, V1Node?>? node = null)
    {
        ArgumentNullException.ThrowIfNull(pods);
        foreach (var pod in pods.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            if ((Classify(pod) ?? NodePressure(pod, node)) is { } failure)
            {
                var message = $"pod {pod.Metadata.Name}: {failure.Message}";
                return (failure.Reason, message.Length <= 256 ? message : message[..253] + "...");
            }
        }

        return null;
    }

    private static (string Reason, string Message)? NodePressure(V1Pod pod, Func<string, V1Node?>? node)
    {
        if (node is null || pod.Spec?.NodeName is not { } name || node(name) is not { } host)
        {
            return null;
        }

        var conditions = host.Status?.Conditions ?? [];
        return conditions.Any(c => c.Type == "DiskPressure" && c.Status == "True")
            ? (ConditionReasons.NodeDiskPressure, $"node {name} is under disk pressure")
            : conditions.Any(c => c.Type == "MemoryPressure" && c.Status == "True")
                ? (ConditionReasons.NodeMemoryPressure, $"node {name} is under memory pressure")
                : null;
    }

    /// <summary>One pod's failure reason and detail, or null.</summary>
    public static (string Reason, string Message)? Classify(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Status?.Reason == "Evicted")
        {
            return (ConditionReasons.PodEvicted, pod.Status.Message ?? "evicted");
        }

        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable") is { } unscheduled)
        {
            return (ConditionReasons.Unschedulable, unscheduled.Message ?? "no node fits the pod");
        }

        foreach (var container in (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []))
        {
            var waiting = container.State?.Waiting;
            var terminated = container.State?.Terminated ?? container.LastState?.Terminated;
            var said = waiting?.Message ?? terminated?.Message;
            var detail = string.IsNullOrEmpty(said)
                ? $"container {container.Name}: {waiting?.Reason ?? terminated?.Reason}"
                : $"container {container.Name}: {waiting?.Reason ?? terminated?.Reason}: {said}";
            // The model puller says why in its termination message (image not found, credentials refused, corrupt
            // blob) from its first failure on; the kubelet retries it with back-off meanwhile.
            if (container.Name == ModelWeights.ContainerName && terminated is { ExitCode: not 0 } && pod.Status?.InitContainerStatuses?.Contains(container) == true)
            {
                return (ConditionReasons.ImagePullError, string.IsNullOrEmpty(terminated.Message)
                    ? $"container {container.Name}: pulling the model weights failed ({terminated.Reason}, exit code {terminated.ExitCode})"
                    : terminated.Message.Trim());
            }

            switch (waiting?.Reason)
            {
                case "ErrImagePull" or "ImagePullBackOff" or "InvalidImageName":
                    return (ConditionReasons.ImagePullError, detail);
                case "CrashLoopBackOff" when terminated?.Reason == "OOMKilled":
                    return (ConditionReasons.ContainerOOMKilled, $"container {container.Name} was killed for exceeding its memory limit (restarted {container.RestartCount} times)");
                case "CrashLoopBackOff":
                    return (ConditionReasons.ContainerCrashLoopBackOff, detail);
                case "CreateContainerError" or "CreateContainerConfigError" or "RunContainerError" or "StartError":
                    return (ConditionReasons.ContainerStartError, detail);
            }

            if (terminated?.Reason == "OOMKilled")
            {
                return (ConditionReasons.ContainerOOMKilled, $"container {container.Name} was killed for exceeding its memory limit");
            }
        }

        return null;
    }
}
