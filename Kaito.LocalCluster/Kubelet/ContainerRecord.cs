using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>What the kubelet knows of one container of a pod: its state now, its last termination and its restarts.</summary>
internal sealed class ContainerRecord(JsonObject spec, bool init)
{
    public JsonObject Spec { get; } = spec;

    public string Name => (string)Spec["name"]!;

    public bool Init { get; } = init;

    public int RestartCount { get; set; }

    /// <summary>The status' <c>state</c>: one of waiting, running or terminated.</summary>
    public JsonObject State { get; set; } = new() { ["waiting"] = new JsonObject { ["reason"] = init ? "PodInitializing" : "ContainerCreating" } };

    public JsonObject? LastState { get; set; }

    public bool Ready { get; set; }

    public bool Started { get; set; }

    public string? ContainerId { get; set; }

    /// <summary>The pulled image's name and digest (<c>imageID</c>), empty for images the node stands in for.</summary>
    public string ImageId { get; set; } = "";

    /// <summary>Failed pulls in a row: the first is ErrImagePull, the next ImagePullBackOff.</summary>
    public int PullFailures { get; set; }

    /// <summary>The running process, if any.</summary>
    public ContainerProcess? Process { get; set; }

    /// <summary>The running process' environment and working directory (what <c>kubectl exec</c> runs with).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();

    public string WorkingDirectory { get; set; } = "/";

    /// <summary>The current run's log file.</summary>
    public string? LogPath { get; set; }

    /// <summary>Set when the kubelet itself stops the process (liveness failure, pod deletion), so its exit is expected.</summary>
    public string? KillReason { get; set; }

    public bool IsTerminated => State["terminated"] is not null;

    public int? ExitCode => State["terminated"]?["exitCode"]?.GetValue<int>();

    public JsonObject Status() => new()
    {
        ["name"] = Name,
        ["image"] = (string?)Spec["image"],
        ["imageID"] = ImageId,
        ["containerID"] = ContainerId,
        ["ready"] = Ready,
        ["started"] = Started,
        ["restartCount"] = RestartCount,
        ["state"] = State.DeepClone(),
        ["lastState"] = LastState?.DeepClone() ?? new JsonObject(),
    };
}
