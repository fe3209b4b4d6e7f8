using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// The kubelet's pod worker for one pod: makes its sandbox (IP, volumes, /etc/hosts), runs its init containers in
/// order and then its containers, probes them, restarts them by the pod's restartPolicy with the kubelet's back-off,
/// and reports all of it in the pod's status and events. Stopping it terminates the containers as the kubelet does:
/// SIGTERM to each container's processes, the grace period, then SIGKILL.
/// </summary>
internal sealed partial class PodWorker : IDisposable
{
    private readonly KubeletRuntime _runtime;
    private readonly ObjectKey _key;
    private readonly string _uid;
    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly Lock _statusGate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<ContainerRecord> _init;
    private readonly List<ContainerRecord> _containers;
    private readonly PodVolumes _volumes;
    private JsonObject _pod;
    private string _phase = "Pending";
    private string? _podIp;
    private string? _startTime;
    private bool _initialized;
    private Task? _run;
    private TimeSpan _grace = TimeSpan.FromSeconds(30);

    public PodWorker(KubeletRuntime runtime, JsonObject pod, IEnumerable<ContainerRecord>? previous = null)
    {
        _runtime = runtime;
        _pod = pod;
        _key = new ObjectKey(Kinds.Pod.GroupResource, Objects.Namespace(pod), Objects.Name(pod));
        _uid = Objects.Uid(pod);
        _directory = runtime.PodDirectory(_uid);
        _logger = runtime.Loggers.CreateLogger<PodWorker>();
        _volumes = new PodVolumes(_directory, runtime.ClaimsDirectory, runtime.NodesDirectory);
        _init = (pod["spec"]?["initContainers"]?.AsArray().OfType<JsonObject>() ?? []).Select(c => new ContainerRecord(c, init: true)).ToList();
        _containers = (pod["spec"]?["containers"]?.AsArray().OfType<JsonObject>() ?? []).Select(c => new ContainerRecord(c, init: false)).ToList();
        if (_init.Count > 0)
        {
            // As the kubelet reports them: the main containers wait for the init containers, not for their own creation.
            MarkWaitingContainers("PodInitializing");
        }
        foreach (var record in previous ?? [])
        {
            if (All.FirstOrDefault(r => r.Name == record.Name && r.Init == record.Init) is { } mine)
            {
                mine.RestartCount = record.RestartCount;
                mine.LastState = record.LastState;
                if (record.State["running"] is JsonObject running)
                {
                    // It died with the previous LocalCluster: that run ended, and starting again is a restart.
                    mine.RestartCount++;
                    mine.LastState = new JsonObject
                    {
                        ["terminated"] = new JsonObject
                        {
                            ["exitCode"] = 137,
                            ["reason"] = "ContainerStatusUnknown",
                            ["message"] = "The container could not be located when the pod was terminated: LocalCluster restarted while it ran",
                            ["startedAt"] = running["startedAt"]?.DeepClone(),
                        },
                    };
                }
            }
        }
    }

    public string Uid => _uid;

    /// <summary>The pod as the worker last read it.</summary>
    public JsonObject Pod => _pod;

    public ObjectKey Key => _key;

    public bool Finished => _run?.IsCompleted == true;

    /// <summary>When the worker ended on an unexpected error (the pod is not finished); the kubelet starts another after a back-off.</summary>
    public DateTimeOffset? FaultedAt { get; private set; }

    /// <summary>The folder of this pod's container logs.</summary>
    public string LogDirectory => Path.Combine(_directory, "logs");

    private IEnumerable<ContainerRecord> All => _init.Concat(_containers);

    /// <summary>The container named <paramref name="name"/> (init containers too), or null.</summary>
    public ContainerRecord? Container(string name) => All.FirstOrDefault(c => c.Name == name);

    private string RestartPolicy => (string?)_pod["spec"]?["restartPolicy"] ?? "Always";

    public void Start() => _run = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Terminates every container (SIGTERM, <paramref name="grace"/>, SIGKILL) and waits for the worker to end.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        // Each running container terminates itself when the worker is stopped (RunOnceAsync), so one starting at
        // this very moment is not missed.
        _grace = grace;
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            var taken = _runtime.Store.List(Kinds.Pod.GroupResource, null).Items
                .Where(p => Objects.Uid(p) != _uid && !Scheduler.IsFinished(p))
                .Select(p => (string?)p["status"]?["podIP"]).OfType<string>().ToHashSet();
            _podIp = (string?)_pod["status"]?["podIP"] is { Length: > 0 } kept && !taken.Contains(kept) ? kept : LoopbackAddresses.PodIp(_uid, taken);
            _startTime = (string?)_pod["status"]?["startTime"] ?? Timestamp();
            Publish();

            await PrepareVolumesAsync(stop);
            _ = Task.Run(() => SyncVolumesAsync(stop), CancellationToken.None);

            foreach (var record in _init)
            {
                var exit = await RunContainerAsync(record, stop);
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                if (exit != 0)
                {
                    _phase = "Failed";
                    MarkWaitingContainers("PodInitializing");
                    Publish();
                    return;
                }
            }

            _initialized = true;
            Publish();
            var exits = await Task.WhenAll(_containers.Select(record => RunContainerAsync(record, stop)));
            if (!stop.IsCancellationRequested)
            {
                _phase = exits.All(e => e == 0) ? "Succeeded" : "Failed";
                Publish();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the pod is going away
        }
        catch (Exception ex)
        {
            LogWorkerFailed(_logger, _key, ex);
            Record("Warning", "FailedSync", $"error syncing pod: {ex.Message}");
            await Task.WhenAll(All.Select(record => TerminateAsync(record, TimeSpan.FromSeconds(5), "the pod worker failed")));
            FaultedAt = _runtime.Clock.GetUtcNow();
        }
    }

    private async Task PrepareVolumesAsync(CancellationToken stop)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            _pod = _runtime.Store.Get(_key) is { } current && Objects.Uid(current) == _uid ? current : throw new OperationCanceledException(stop);
            if (_volumes.Prepare(_pod, _runtime.Store) is not { } problem)
            {
                break;
            }

            Record("Warning", "FailedMount", problem);
            await Task.Delay(delay, _runtime.Clock, stop);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }

        WriteHosts();
    }

    /// <summary>Keeps configMap and secret volumes (and /etc/hosts) up to date, as the kubelet's periodic sync does.</summary>
    private async Task SyncVolumesAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_runtime.Options.VolumeSyncInterval, _runtime.Clock, stop);
                if (_runtime.Store.Get(_key) is { } current && Objects.Uid(current) == _uid)
                {
                    _volumes.Prepare(current, _runtime.Store);
                    WriteHosts();
                    if (Directory.Exists(Path.Combine(_directory, "serviceaccount")))
                    {
                        ServiceAccountFiles(); // renews the token
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogVolumeSyncFailed(_logger, _key, ex);
            }
        }
    }

    /// <summary>Runs a container until it ends for good by the restart policy; its last exit code.</summary>
    private async Task<int> RunContainerAsync(ContainerRecord record, CancellationToken stop)
    {
        var backOff = _runtime.Options.RestartBackOff;
        var configBackOff = TimeSpan.FromSeconds(1);
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            var started = _runtime.Clock.GetUtcNow();
            var exit = await RunOnceAsync(record, configBackOff, stop);
            if (stop.IsCancellationRequested)
            {
                return exit ?? 137;
            }

            if (exit is null)
            {
                // could not be created; RunOnce waited before this retry, longer each time
                configBackOff = TimeSpan.FromTicks(Math.Min(configBackOff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                continue;
            }

            configBackOff = TimeSpan.FromSeconds(1);
            var restart = record.Init
                ? exit != 0 && RestartPolicy != "Never"
                : RestartPolicy switch { "Never" => false, "OnFailure" => exit != 0, _ => true };
            if (!restart)
            {
                return exit.Value;
            }

            if (_runtime.Clock.GetUtcNow() - started > TimeSpan.FromMinutes(10))
            {
                backOff = _runtime.Options.RestartBackOff; // ran long enough: the kubelet forgets the back-off
            }

            record.LastState = new JsonObject { ["terminated"] = record.State["terminated"]!.DeepClone() };
            record.RestartCount++;
            record.State = Waiting("CrashLoopBackOff",
                $"back-off {Duration(backOff)} restarting failed container={record.Name} pod={_key.Name}_{_key.Namespace}({_uid})");
            Publish();
            Record("Warning", "BackOff", $"Back-off restarting failed container {record.Name} in pod {_key.Name}_{_key.Namespace}({_uid})");
            await Task.Delay(backOff, _runtime.Clock, stop);
            backOff = TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, _runtime.Options.MaxRestartBackOff.Ticks));
        }
    }

    /// <summary>One run of a container; null when it could not be created (bad configuration), after waiting <paramref name="retryAfter"/>.</summary>
    private async Task<int?> RunOnceAsync(ContainerRecord record, TimeSpan retryAfter, CancellationToken stop)
    {
        _pod = _runtime.Store.Get(_key) is { } current && Objects.Uid(current) == _uid ? current : throw new OperationCanceledException(stop);
        var (variables, error) = ContainerEnvironment.Build(_pod, record.Spec, _runtime.Store);
        if (variables is null)
        {
            record.State = Waiting("CreateContainerConfigError", error);
            Publish();
            Record("Warning", "Failed", $"Error: {error}");
            await Task.Delay(retryAfter, _runtime.Clock, stop);
            return null;
        }

        PulledImage? pulled = null;
        if (_runtime.Images.Pulls((string?)record.Spec["image"]))
        {
            pulled = await PullAsync(record, stop);
            if (pulled is null)
            {
                await Task.Delay(retryAfter, _runtime.Clock, stop);
                return null;
            }
        }

        var runnable = _runtime.Images.Resolve(record.Spec, pulled);
        var (user, group, userError) = pulled is null ? (null, null, null) : ContainerUser.Resolve(_pod, record.Spec, pulled);
        if (userError is not null)
        {
            record.State = Waiting("CreateContainerConfigError", userError);
            Publish();
            Record("Warning", "Failed", $"Error: {userError}");
            await Task.Delay(retryAfter, _runtime.Clock, stop);
            return null;
        }

        var containerDirectory = Path.Combine(_directory, "containers", record.Name);
        var tmp = Path.Combine(containerDirectory, "tmp");
        Directory.CreateDirectory(tmp);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, (UnixFileMode)Convert.ToInt32("1777", 8));
        }
        var terminationLog = Path.Combine(containerDirectory, "termination-log");
        await File.WriteAllTextAsync(terminationLog, "", CancellationToken.None);

        var mounts = new List<SandboxMount>(runnable.Mounts) { new(tmp, "/tmp", ReadOnly: false) };
        foreach (var mount in record.Spec["volumeMounts"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var source = _volumes.PathOf((string)mount["name"]!);
            var subPath = (string?)mount["subPath"] ?? ((string?)mount["subPathExpr"] is { } expr ? ContainerEnvironment.Expand(expr, variables) : null);
            if (!string.IsNullOrEmpty(subPath))
            {
                source = Path.Combine(source, subPath);
                if (!Path.Exists(source))
                {
                    Directory.CreateDirectory(source);
                }
            }

            mounts.Add(new SandboxMount(source, (string)mount["mountPath"]!, mount["readOnly"]?.GetValue<bool>() == true));
        }

        if (_pod["spec"]?["hostNetwork"]?.GetValue<bool>() != true)
        {
            mounts.Add(new SandboxMount(Path.Combine(_directory, "hosts"), "/etc/hosts", ReadOnly: true));
            mounts.Add(new SandboxMount(Path.Combine(_directory, "hostname"), "/etc/hostname", ReadOnly: true));
        }

        mounts.Add(new SandboxMount(terminationLog, (string?)record.Spec["terminationMessagePath"] ?? "/dev/termination-log", ReadOnly: false));
        if (!mounts.Any(m => m.Target.TrimEnd('/') == ServiceAccountPath) && ServiceAccountFiles() is { } serviceAccount)
        {
            mounts.Add(new SandboxMount(serviceAccount, ServiceAccountPath, ReadOnly: true));
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in pulled?.Env ?? [])
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                environment[variable[..equals]] = variable[(equals + 1)..];
            }
        }

        if (_runtime.ApiServer is { } api)
        {
            // As the kubelet sets them from the kubernetes Service: the API server, for in-cluster clients.
            var port = api.Port.ToString(CultureInfo.InvariantCulture);
            environment["KUBERNETES_SERVICE_HOST"] = api.Host;
            environment["KUBERNETES_SERVICE_PORT"] = port;
            environment["KUBERNETES_SERVICE_PORT_HTTPS"] = port;
            environment["KUBERNETES_PORT"] = $"tcp://{api.Host}:{port}";
        }

        environment["PATH"] = runnable.Path;
        environment["HOME"] = pulled is null ? "/root" : ContainerUser.Home(pulled, user ?? 0);
        environment["HOSTNAME"] = _key.Name;
        if (runnable.IsComponent)
        {
            foreach (var name in _runtime.Options.InheritedEnvironment)
            {
                if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                {
                    environment[name] = value;
                }
            }

            if (pulled is null)
            {
                environment["DOTNET_ROOT"] = "/.kaito/dotnet";
            }

            // The pods share the host's network: a component binds its pod's own loopback address (see LocalCluster's README).
            environment["KAITO_POD_IP"] = _podIp!;
            environment["OTEL_SERVICE_NAME"] = record.Name;
            environment["OTEL_RESOURCE_ATTRIBUTES"] = $"k8s.pod.name={_key.Name},k8s.namespace.name={_key.Namespace},k8s.container.name={record.Name},k8s.pod.uid={_uid}";
        }

        foreach (var (name, value) in variables)
        {
            environment[name] = value;
        }

        var argv = runnable.Argv.Select(a => ContainerEnvironment.Expand(a, variables)).ToList();
        var log = new ContainerLogWriter(Path.Combine(LogDirectory, record.Name, $"{record.RestartCount}.log"), _runtime.Options.MaxLogBytes);
        if (Gpus(record.Spec) is { } gpus)
        {
            log.Note($"[localcluster] nvidia.com/gpu: {gpus} requested; this node's GPUs are simulated, so the container runs on the CPU");
        }

        if (argv.Count == 0)
        {
            log.Dispose();
            return Terminated(record, 128, "StartError", "the container has no command and its image no entrypoint", DateTimeOffset.UtcNow);
        }

        var started = Path.Combine(containerDirectory, "started");
        File.Delete(started);
        ImageRoot? imageRoot = null;
        if (pulled is not null)
        {
            // A fresh writable layer per run, as a restarted container gets.
            var overlay = Path.Combine(containerDirectory, "overlay");
            if (Directory.Exists(overlay))
            {
                Directory.Delete(overlay, recursive: true);
            }

            Directory.CreateDirectory(Path.Combine(overlay, "upper"));
            Directory.CreateDirectory(Path.Combine(overlay, "work"));
            imageRoot = new ImageRoot(pulled.RootFilesystem, Path.Combine(overlay, "upper"), Path.Combine(overlay, "work"),
                record.Spec["securityContext"]?["readOnlyRootFilesystem"]?.GetValue<bool>() == true, user, group);
        }

        var command = ContainerSandbox.Command(Path.Combine(_directory, "rootfs"), _key.Name, mounts,
            (string?)record.Spec["workingDir"] is { Length: > 0 } workingDir ? workingDir : runnable.WorkingDirectory, argv, _runtime.Rootless, started, imageRoot);
        Directory.CreateDirectory(Path.Combine(_directory, "rootfs"));

        ContainerProcess process;
        try
        {
            process = ContainerProcess.Start(command, environment, log, keepStdin: record.Spec["stdin"]?.GetValue<bool>() == true);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            log.Note($"[localcluster] could not start the container: {ex.Message}");
            log.Dispose();
            return Terminated(record, 128, "StartError", ex.Message, DateTimeOffset.UtcNow);
        }

        using (process)
        using (log)
        {
            // Running once the sandbox is built and the command about to start, not when the setup script started.
            var wait = TimeSpan.FromMilliseconds(5);
            while (!File.Exists(started) && !process.HasExited)
            {
                await Task.Delay(wait, _runtime.Clock, CancellationToken.None);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
            }

            await File.WriteAllTextAsync(Path.Combine(containerDirectory, "pid"), $"{process.Pid.ToString(CultureInfo.InvariantCulture)} {Native.StartTime(process.Pid)}", CancellationToken.None);
            record.Environment = environment;
            record.WorkingDirectory = (string?)record.Spec["workingDir"] is { Length: > 0 } directory ? directory : runnable.WorkingDirectory;
            record.LogPath = log.Path;
            record.Process = process;
            record.KillReason = null;
            record.ContainerId = $"kaito-local://{_uid}-{record.Name}-{record.RestartCount}";
            record.ImageId = pulled is null ? "" : $"{ImageName(pulled.Reference)}@{pulled.Digest}";
            record.State = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Timestamp(process.StartedAt) } };
            record.Started = record.Spec["startupProbe"] is null;
            record.Ready = record.Started && record.Spec["readinessProbe"] is null && !record.Init;
            if (!record.Init && _phase == "Pending")
            {
                _phase = "Running";
            }

            Publish();
            Record("Normal", "Started", $"Started container {record.Name}");

            using var stopping = stop.Register(() => _ = TerminateAsync(record, _grace, "the pod is being deleted"));
            using var probing = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var probes = record.Init ? Task.CompletedTask : new ContainerProbes(this, record, _podIp!, _runtime).RunAsync(probing.Token);
            var exit = await process.WaitAsync(CancellationToken.None);
            await probing.CancelAsync();
            await probes.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            record.Process = null;

            var message = File.Exists(terminationLog) ? ReadBounded(terminationLog, 4096) : "";
            if (message.Length == 0 && exit != 0 && (string?)record.Spec["terminationMessagePolicy"] == "FallbackToLogsOnError")
            {
                message = LogTail(log.Path, 80, 2048);
            }

            return Terminated(record, exit, exit == 0 ? "Completed" : "Error", message.Length > 0 ? message : null, process.StartedAt);
        }
    }

    private const string ServiceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
    private static readonly TimeSpan s_tokenLifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// The folder of the pod's service account credentials — <c>token</c>, <c>ca.crt</c>, <c>namespace</c> — as the
    /// kube-api-access projected volume holds them, or null when the pod gets none: <c>automountServiceAccountToken</c>
    /// false on the pod (else on the service account), or its service account does not exist. The token lasts an hour
    /// and is renewed once 80 % of it has passed (at a container start or a volume sync), as the kubelet renews it.
    /// </summary>
    private string? ServiceAccountFiles()
    {
        var spec = _pod["spec"];
        var name = (string?)spec?["serviceAccountName"] is { Length: > 0 } named ? named : "default";
        if (_runtime.Tokens is null || _runtime.ApiAuthorityPem is null
            || _runtime.Store.Get(new ObjectKey(Kinds.ServiceAccount.GroupResource, _key.Namespace, name)) is not { } account)
        {
            return null;
        }

        var automount = spec?["automountServiceAccountToken"] is JsonValue podFlag ? podFlag.GetValue<bool>()
            : account["automountServiceAccountToken"] is not JsonValue accountFlag || accountFlag.GetValue<bool>();
        if (!automount)
        {
            return null;
        }

        var folder = Path.Combine(_directory, "serviceaccount");
        var token = Path.Combine(folder, "token");
        var issued = File.Exists(token) ? File.GetLastWriteTimeUtc(token) : DateTime.MinValue;
        if (_runtime.Clock.GetUtcNow().UtcDateTime - issued > s_tokenLifetime * 0.8)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "ca.crt"), _runtime.ApiAuthorityPem);
            File.WriteAllText(Path.Combine(folder, "namespace"), _key.Namespace);
            var temporary = token + ".tmp";
            File.WriteAllText(temporary, _runtime.Tokens.Issue(account, s_tokenLifetime));
            File.Move(temporary, token, overwrite: true);
        }

        return folder;
    }

    /// <summary>
    /// Pulls the container's image as the kubelet does, by its <c>imagePullPolicy</c> (default: Always for <c>:latest</c>
    /// or no tag, else IfNotPresent), with the pod's pull secrets: Pulling/Pulled events, and on a failure ErrImagePull
    /// (then ImagePullBackOff while it retries) naming the cause, or ErrImageNeverPull; null then.
    /// </summary>
    private async Task<PulledImage?> PullAsync(ContainerRecord record, CancellationToken stop)
    {
        var image = (string)record.Spec["image"]!;
        var reference = ImageReference.Parse(image);
        var policy = (string?)record.Spec["imagePullPolicy"] is { Length: > 0 } given ? given
            : reference.Digest is null && reference.Tag is null or "latest" ? "Always" : "IfNotPresent";
        if (policy != "Always" && _runtime.ImageStore.Present(image) is { } present)
        {
            Record("Normal", "Pulled", $"Container image \"{image}\" already present on machine");
            return present;
        }

        if (policy == "Never")
        {
            var message = $"Container image \"{image}\" is not present with pull policy of Never";
            record.State = Waiting("ErrImageNeverPull", message);
            Publish();
            Record("Warning", "ErrImageNeverPull", message);
            return null;
        }

        Record("Normal", "Pulling", $"Pulling image \"{image}\"");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var pulled = await _runtime.ImageStore.PullAsync(image, PullSecrets(), stop);
            Record("Normal", "Pulled", $"Successfully pulled image \"{image}\" in {watch.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)}s. Image size: {pulled.Bytes.ToString(CultureInfo.InvariantCulture)} bytes.");
            record.PullFailures = 0;
            return pulled;
        }
        catch (Exception ex) when (ex is Kaito.Oci.RegistryException or InvalidDataException or HttpRequestException or IOException or UnauthorizedAccessException or FormatException)
        {
            var failed = record.PullFailures++ == 0;
            record.State = Waiting(failed ? "ErrImagePull" : "ImagePullBackOff", failed ? ex.Message : $"Back-off pulling image \"{image}\": {ex.Message}");
            Publish();
            Record("Warning", failed ? "Failed" : "BackOff", failed ? $"Failed to pull image \"{image}\": {ex.Message}" : $"Back-off pulling image \"{image}\"");
            return null;
        }
    }

    /// <summary>The <c>.dockerconfigjson</c> of each of the pod's <c>imagePullSecrets</c> that exists.</summary>
    private List<(string Json, string Source)> PullSecrets()
    {
        var configs = new List<(string, string)>();
        foreach (var name in _pod["spec"]?["imagePullSecrets"]?.AsArray().Select(s => (string?)s?["name"]).OfType<string>() ?? [])
        {
            if (_runtime.Store.Get(new ObjectKey(Kinds.Secret.GroupResource, _key.Namespace, name)) is { } secret
                && PodVolumes.SecretData(secret).TryGetValue(".dockerconfigjson", out var json))
            {
                configs.Add((Encoding.UTF8.GetString(json), $"secret {_key.Namespace}/{name}"));
            }
        }

        return configs;
    }

    private static string ImageName(string image) => image.Split('@')[0] is var name && name.LastIndexOf(':') > name.LastIndexOf('/') ? name[..name.LastIndexOf(':')] : name;

    private int Terminated(ContainerRecord record, int exit, string reason, string? message, DateTimeOffset startedAt)
    {
        record.State = new JsonObject
        {
            ["terminated"] = new JsonObject
            {
                ["exitCode"] = exit,
                ["reason"] = reason,
                ["message"] = message,
                ["startedAt"] = Timestamp(startedAt),
                ["finishedAt"] = Timestamp(),
                ["containerID"] = record.ContainerId,
            },
        };
        record.Ready = false;
        record.Started = false;
        Publish();
        return exit;
    }

    /// <summary>Stops a container's processes: SIGTERM, up to <paramref name="grace"/> for them to end, then SIGKILL.</summary>
    internal async Task TerminateAsync(ContainerRecord record, TimeSpan grace, string reason)
    {
        if (record.Process is not { HasExited: false } process)
        {
            return;
        }

        record.KillReason = reason;
        Record("Normal", "Killing", $"Stopping container {record.Name}");
        process.Signal(Native.SigTerm);
        var deadline = _runtime.Clock.GetUtcNow() + grace;
        var wait = TimeSpan.FromMilliseconds(20);
        while (!process.HasExited && _runtime.Clock.GetUtcNow() < deadline)
        {
            await Task.Delay(wait, _runtime.Clock, CancellationToken.None);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }

        process.Signal(Native.SigKill);
    }

    /// <summary>Writes the pod's status from what the worker knows (retrying on conflicts with other status writers).</summary>
    internal void Publish()
    {
        lock (_statusGate)
        {
            for (var attempt = 0; attempt < 10; attempt++)
            {
                var current = _runtime.Store.Get(_key);
                if (current is null || Objects.Uid(current) != _uid)
                {
                    return;
                }

                var updated = current.DeepClone().AsObject();
                var status = updated["status"] as JsonObject ?? [];
                updated["status"] = status;
                var now = Timestamp();
                status["phase"] = _phase;
                status["hostIP"] = LoopbackAddresses.Node;
                status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = LoopbackAddresses.Node });
                if (_podIp is not null)
                {
                    status["podIP"] = _podIp;
                    status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = _podIp });
                }

                status["startTime"] = _startTime;
                status["qosClass"] ??= "BestEffort";
                var finished = _phase is "Succeeded" or "Failed";
                var ready = !finished && _initialized && _containers.All(c => c.Ready);
                Objects.SetCondition(status, "PodReadyToStartContainers", _podIp is null ? "False" : "True", null, null, now);
                Objects.SetCondition(status, "Initialized", _initialized || _init.Count == 0 ? "True" : "False",
                    _initialized || _init.Count == 0 ? null : "ContainersNotInitialized",
                    _initialized || _init.Count == 0 ? null : $"containers with incomplete status: [{string.Join(' ', _init.Where(c => c.ExitCode != 0).Select(c => c.Name))}]", now);
                var unready = _containers.Where(c => !c.Ready).Select(c => c.Name).ToList();
                var (reason, message) = finished ? ("PodCompleted", (string?)null) : ready ? (null, null) : ("ContainersNotReady", $"containers with unready status: [{string.Join(' ', unready)}]");
                Objects.SetCondition(status, "ContainersReady", ready ? "True" : "False", reason, message, now);
                Objects.SetCondition(status, "Ready", ready ? "True" : "False", reason, message, now);
                if (_init.Count > 0)
                {
                    status["initContainerStatuses"] = new JsonArray(_init.Select(c => (JsonNode?)c.Status()).ToArray());
                }

                status["containerStatuses"] = new JsonArray(_containers.Select(c => (JsonNode?)c.Status()).ToArray());
                if (JsonNode.DeepEquals(current["status"], status))
                {
                    return;
                }

                try
                {
                    _runtime.Store.Update(Kinds.Pod, _key, updated, statusOnly: true);
                    return;
                }
                catch (ApiException ex) when (ex.Code == 409)
                {
                    // another status writer (the scheduler's condition) won: read again after a short, growing pause
                    Thread.Sleep(TimeSpan.FromMilliseconds(10 * (attempt + 1)));
                }
                catch (ApiException ex) when (ex.Code == 404)
                {
                    return;
                }
            }
        }
    }

    internal void Record(string type, string reason, string message)
    {
        if (_runtime.Store.Get(_key) is { } pod && Objects.Uid(pod) == _uid)
        {
            EventRecorder.Record(new SimulationContext(_runtime.Store, _runtime.Clock, new SimulationOptions()), pod, type, reason, message);
        }
    }

    /// <summary>/etc/hosts as the kubelet writes it, plus every Service's names, which stand in for cluster DNS.</summary>
    private void WriteHosts()
    {
        var hosts = new StringBuilder("# Kubernetes-managed hosts file (LocalCluster: Services resolve here, in place of cluster DNS).\n");
        hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        var hostname = (string?)_pod["spec"]?["hostname"] ?? _key.Name;
        var fqdn = (string?)_pod["spec"]?["subdomain"] is { Length: > 0 } subdomain ? $"\t{hostname}.{subdomain}.{_key.Namespace}.svc.cluster.local" : "";
        hosts.Append(_podIp).Append('\t').Append(hostname).Append(fqdn).Append('\n');
        foreach (var service in _runtime.Store.List(Kinds.Service.GroupResource, null).Items)
        {
            if ((string?)service["spec"]?["clusterIP"] is not { Length: > 0 } ip || ip == "None")
            {
                continue;
            }

            var (name, ns) = (Objects.Name(service), Objects.Namespace(service));
            hosts.Append(ip).Append('\t').Append($"{name}.{ns}.svc.cluster.local {name}.{ns}.svc {name}.{ns}");
            hosts.Append(ns == _key.Namespace ? $" {name}\n" : "\n");
        }

        var path = Path.Combine(_directory, "hosts");
        Directory.CreateDirectory(_directory);
        if (!File.Exists(Path.Combine(_directory, "hostname")))
        {
            File.WriteAllText(Path.Combine(_directory, "hostname"), hostname + "\n");
        }
        // In place (same inode): the file is bind-mounted into running containers.
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        var bytes = Encoding.UTF8.GetBytes(hosts.ToString());
        var existing = new byte[file.Length];
        file.ReadExactly(existing);
        if (!existing.AsSpan().SequenceEqual(bytes))
        {
            file.SetLength(0);
            file.Write(bytes);
        }
    }

    private void MarkWaitingContainers(string reason)
    {
        foreach (var record in _containers.Where(c => c.State["waiting"] is not null))
        {
            record.State = Waiting(reason, null);
        }
    }

    private static JsonObject Waiting(string reason, string? message) =>
        new() { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = message } };

    private static string? Gpus(JsonObject container) =>
        (container["resources"]?["limits"]?["nvidia.com/gpu"] ?? container["resources"]?["requests"]?["nvidia.com/gpu"])?.ToString();

    private string Timestamp(DateTimeOffset? time = null) =>
        (time ?? _runtime.Clock.GetUtcNow()).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan span) =>
        span.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds}s") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#}s");

    private static string ReadBounded(string path, int limit)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[Math.Min(limit, file.Length)];
        file.ReadExactly(buffer);
        return Encoding.UTF8.GetString(buffer).Trim();
    }

    /// <summary>The last lines of a CRI log, as text: the kubelet's FallbackToLogsOnError message.</summary>
    internal static string LogTail(string path, int lines, int limit)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        var text = string.Join('\n', ContainerLogs.Read(path).TakeLast(lines).Select(l => l.Text));
        return text.Length > limit ? text[^limit..] : text;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The pod worker of {Pod} failed")]
    private static partial void LogWorkerFailed(ILogger logger, ObjectKey pod, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the volumes of {Pod} failed")]
    private static partial void LogVolumeSyncFailed(ILogger logger, ObjectKey pod, Exception exception);
}
