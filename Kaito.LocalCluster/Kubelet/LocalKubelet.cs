using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// LocalCluster's kubelet for every node: runs each bound pod whose images and volumes it can run as real processes
/// (one <see cref="PodWorker"/> per pod), stops them when their pod goes, and answers which pods it leaves to the
/// simulated kubelet and why. After a restart it kills what a previous run left behind, fails the running pods that
/// must not restart (their Jobs make new ones) and restarts the containers of the others, as after a node reboot.
/// </summary>
public sealed partial class LocalKubelet : BackgroundService
{
    private readonly ClusterStore _store;
    private readonly ContainerImages _images;
    private readonly KubeletOptions _options;
    private readonly ILogger<LocalKubelet> _logger;
    private readonly KubeletRuntime _runtime;
    private readonly bool _ownsRoot;
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _stopping = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _faults = new(StringComparer.Ordinal);
    private readonly StoreSyncLoop _loop;

    public LocalKubelet(ClusterStore store, ContainerImages images, IOptions<KubeletOptions> options, IOptions<LocalClusterOptions> cluster,
        TimeProvider clock, ILoggerFactory loggers, ServiceAccountTokens? tokens = null, KubeconfigWriter? apiServer = null, Kaito.ServiceDefaults.SelfSignedCertificates? certificates = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cluster);
        _store = store;
        _images = images;
        _options = options.Value;
        _logger = loggers.CreateLogger<LocalKubelet>();
        var root = _options.RootDirectory;
        if (string.IsNullOrWhiteSpace(root))
        {
            _ownsRoot = string.IsNullOrWhiteSpace(cluster.Value.DataDirectory);
            root = _ownsRoot
                ? Path.Combine(Path.GetTempPath(), $"kaito-kubelet-{Guid.NewGuid():N}")
                : Path.Combine(Path.GetFullPath(cluster.Value.DataDirectory!), "kubelet");
        }

        _runtime = new KubeletRuntime(store, images, options, clock, loggers, Path.GetFullPath(root), tokens, apiServer, certificates?.Authority.ExportCertificatePem());
        _loop = new StoreSyncLoop(store, ["/pods", "/configmaps", "/secrets", "/persistentvolumeclaims"], TimeSpan.FromSeconds(1));
    }

    /// <summary>Why <paramref name="pod"/> is left to the simulated kubelet ("simulated (…)"), or null when it runs for real.</summary>
    public string? Simulated(JsonObject pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (!_options.Enabled)
        {
            return "simulated (LocalCluster's kubelet is turned off)";
        }

        foreach (var container in (pod["spec"]?["initContainers"]?.AsArray() ?? []).Concat(pod["spec"]?["containers"]?.AsArray() ?? []).OfType<JsonObject>())
        {
            if (_images.NotRunnable((string?)container["image"]) is { } reason)
            {
                return reason;
            }
        }

        return PodVolumes.Unsupported(pod);
    }

    /// <summary>
    /// The log file of a container of a pod this kubelet runs, or null: the current run's (the last one while it waits
    /// to restart), or with <paramref name="previous"/> the run before it, as <c>kubectl logs --previous</c> expects.
    /// </summary>
    public string? LogFile(JsonObject pod, string container, bool previous)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var directory = Path.Combine(_runtime.PodDirectory(Objects.Uid(pod)), "logs", container);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var restarts = ((pod["status"]?["containerStatuses"]?.AsArray() ?? []).Concat(pod["status"]?["initContainerStatuses"]?.AsArray() ?? []))
            .Where(s => (string?)s?["name"] == container)
            .Select(s => JsonNumbers.ReadLong(s?["restartCount"]))
            .FirstOrDefault() ?? 0;
        string Run(long n) => Path.Combine(directory, $"{n.ToString(CultureInfo.InvariantCulture)}.log");
        if (previous)
        {
            return restarts > 0 && File.Exists(Run(restarts - 1)) ? Run(restarts - 1) : null;
        }

        return Enumerable.Range(0, (int)restarts + 1).Reverse().Select(n => Run(n)).FirstOrDefault(File.Exists);
    }

    /// <summary>A container of a pod this kubelet runs, for exec and attach; null when the pod is not one of its own.</summary>
    internal ContainerRecord? Container(string podUid, string name) =>
        _workers.TryGetValue(podUid, out var worker) ? worker.Container(name) : null;

    /// <summary>Whether containers need a user namespace (for entering their namespaces too).</summary>
    internal bool Rootless => _runtime.Rootless;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        Directory.CreateDirectory(_runtime.RootDirectory);
        OwnerOnly(_runtime.RootDirectory);
        ReapLeftovers();
        await _loop.RunAsync(Sync, ex => LogSyncFailed(_logger, ex), stoppingToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Nothing outlives LocalCluster: every container gets SIGTERM and a short grace, then SIGKILL; and should the
        // host's shutdown timeout come first, every process group left is killed there and then.
        var workers = _workers.Values.ToList();
        _workers.Clear();
        try
        {
            await Task.WhenAll(workers.Select(w => w.StopAsync(TimeSpan.FromSeconds(5))).Concat(_stopping.Values)).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            ReapLeftovers();
        }

        foreach (var worker in workers)
        {
            worker.Dispose();
        }

        if (_ownsRoot)
        {
            TryDelete(_runtime.RootDirectory);
        }
    }

    public override void Dispose()
    {
        _loop.Dispose();
        _runtime.ImageStore.Dispose();
        base.Dispose();
    }

    private void Sync()
    {
        var pods = _store.List(Kinds.Pod.GroupResource, null).Items;
        var present = pods.ToDictionary(Objects.Uid, StringComparer.Ordinal);
        foreach (var (uid, worker) in _workers)
        {
            if (!present.TryGetValue(uid, out var pod) || Objects.IsDeleting(pod))
            {
                _workers.TryRemove(uid, out _);
                _faults.TryRemove(uid, out _);
                var grace = TimeSpan.FromSeconds(JsonNumbers.ReadLong(pod?["metadata"]?["deletionGracePeriodSeconds"])
                    ?? JsonNumbers.ReadLong(worker.Pod["spec"]?["terminationGracePeriodSeconds"]) ?? 30);
                _stopping[uid] = Task.Run(async () =>
                {
                    await worker.StopAsync(grace);
                    worker.Dispose();
                    if (pod is null)
                    {
                        TryDelete(_runtime.PodDirectory(uid));
                    }
                    else
                    {
                        // A graceful deletion ends here: its containers stopped, the kubelet removes the pod.
                        Remove(pod);
                    }

                    _stopping.TryRemove(uid, out _);
                });
            }
        }

        foreach (var (uid, worker) in _workers)
        {
            // A worker that failed unexpectedly is replaced after a back-off (10 s, doubling to 5 min per pod), as the
            // kubelet retries a pod sync.
            var faults = _faults.GetValueOrDefault(uid);
            var backOff = TimeSpan.FromSeconds(Math.Min(10 * Math.Pow(2, faults), 300));
            if (worker.FaultedAt is { } faulted && _runtime.Clock.GetUtcNow() - faulted > backOff && _workers.TryRemove(uid, out _))
            {
                _faults[uid] = faults + 1;
                worker.Dispose();
            }
        }

        foreach (var pod in pods)
        {
            var uid = Objects.Uid(pod);
            if (Objects.IsDeleting(pod) && (string?)pod["spec"]?["nodeName"] is not (null or "") && !_workers.ContainsKey(uid) && !_stopping.ContainsKey(uid)
                && Simulated(pod) is null)
            {
                Remove(pod); // being deleted before any container of it ran here
                continue;
            }

            if ((string?)pod["spec"]?["nodeName"] is null or "" || Objects.IsDeleting(pod) || _workers.ContainsKey(uid) || _stopping.ContainsKey(uid) ||
                Scheduler.IsFinished(pod) || Simulated(pod) is not null)
            {
                continue;
            }

            var previous = Previous(pod);
            if (previous.Count > 0 && previous.Any(r => r.State["running"] is not null) && ((string?)pod["spec"]?["restartPolicy"] ?? "Always") == "Never")
            {
                // Its processes died with the previous LocalCluster and it must not restart: failed, as on a lost node.
                FailLost(pod);
                continue;
            }

            var worker = new PodWorker(_runtime, pod, previous);
            _workers[uid] = worker;
            worker.Start();
        }
    }

    /// <summary>Removes a gracefully deleted pod (its finalizers, if any, still hold it).</summary>
    private void Remove(JsonObject pod)
    {
        try
        {
            var key = new ObjectKey(Kinds.Pod.GroupResource, Objects.Namespace(pod), Objects.Name(pod));
            if (_store.Get(key) is { } current && Objects.Uid(current) == Objects.Uid(pod))
            {
                _store.Delete(Kinds.Pod, key, null);
            }
        }
        catch (ApiException ex) when (ex.Code is 404 or 409)
        {
            // already gone, or replaced by a pod of the same name
        }
    }

    /// <summary>What an earlier LocalCluster run recorded of a pod's containers (restart counts carry on).</summary>
    private static List<ContainerRecord> Previous(JsonObject pod)
    {
        var records = new List<ContainerRecord>();
        foreach (var (key, init) in new[] { ("initContainerStatuses", true), ("containerStatuses", false) })
        {
            foreach (var status in pod["status"]?[key]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (status["state"]?["waiting"] is not null && JsonNumbers.ReadLong(status["restartCount"]) is null or 0)
                {
                    continue;
                }

                var record = new ContainerRecord(new JsonObject { ["name"] = (string?)status["name"] }, init)
                {
                    RestartCount = (int)(JsonNumbers.ReadLong(status["restartCount"]) ?? 0),
                    LastState = status["lastState"]?.DeepClone() as JsonObject,
                    State = status["state"]?.DeepClone() as JsonObject ?? [],
                };
                records.Add(record);
            }
        }

        return records;
    }

    private void FailLost(JsonObject pod)
    {
        var updated = pod.DeepClone().AsObject();
        var status = updated["status"]!.AsObject();
        status["phase"] = "Failed";
        foreach (var key in new[] { "initContainerStatuses", "containerStatuses" })
        {
            foreach (var container in status[key]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (container["state"]?["running"] is JsonObject running)
                {
                    container["state"] = new JsonObject
                    {
                        ["terminated"] = new JsonObject
                        {
                            ["exitCode"] = 137,
                            ["reason"] = "ContainerStatusUnknown",
                            ["message"] = "The container could not be located when the pod was terminated: LocalCluster restarted while it ran",
                            ["startedAt"] = running["startedAt"]?.DeepClone(),
                            ["finishedAt"] = _runtime.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                        },
                    };
                    container["ready"] = false;
                }
            }
        }

        try
        {
            _store.Update(Kinds.Pod, new ObjectKey(Kinds.Pod.GroupResource, Objects.Namespace(pod), Objects.Name(pod)), updated, statusOnly: true);
        }
        catch (ApiException ex) when (ex.Code is 409 or 404)
        {
            // changed meanwhile: the next sync looks again
        }
    }

    /// <summary>Kills container process groups a previous LocalCluster left running (it was killed, not stopped).</summary>
    private void ReapLeftovers()
    {
        var pods = Path.Combine(_runtime.RootDirectory, "pods");
        if (!Directory.Exists(pods))
        {
            return;
        }

        foreach (var pidFile in Directory.EnumerateFiles(pods, "pid", SearchOption.AllDirectories))
        {
            // "<pid> <start time>": a pid the system has since given to another process is left alone
            var recorded = File.ReadAllText(pidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (recorded.Length == 2 && int.TryParse(recorded[0], CultureInfo.InvariantCulture, out var pid) &&
                Native.StartTime(pid) == recorded[1] && Native.GroupAlive(pid))
            {
                LogReaped(_logger, pid, pidFile);
                Native.SignalGroup(pid, Native.SigKill);
            }

            File.Delete(pidFile);
        }
    }

    private static void OwnerOnly(string directory)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogCleanupFailed(_logger, directory, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The kubelet's sync failed")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killed process group {Pid} left by a previous run ({PidFile})")]
    private static partial void LogReaped(ILogger logger, int pid, string pidFile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove {Directory}")]
    private static partial void LogCleanupFailed(ILogger logger, string directory, Exception exception);
}
