using System.Diagnostics;
using System.Globalization;
using System.Net;
using k8s;
using k8s.Models;
using Kaito.Testing;

// dotnet run -c Release --project bench/Kaito.Kubelet.Benchmarks [-- <busybox pods> <kaito-tiny servers> <kaito-tiny workspaces>]
var shells = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var servers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
var workspaces = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var server = Repository.BuildOutput("Kaito.InferenceServer", "Kaito.InferenceServer.dll");
Console.WriteLine($"LocalCluster kubelet benchmark on {Environment.ProcessorCount} cores: {shells} busybox pods, {servers} kaito-tiny inference servers, {workspaces} kaito-tiny workspaces");

await using var cluster = await LocalClusterProcess.StartAsync(
    $"--LocalCluster:Kubelet:Components:kaito-inference-server={server}", $"--LocalCluster:Kubelet:Components:kaito-model-puller={KaitoTools.PullerPath}");
var client = cluster.Client;
await client.CoreV1.CreateNodeAsync(new V1Node
{
    Metadata = new V1ObjectMeta { Name = "local-1", Labels = new Dictionary<string, string> { ["apps"] = "bench" } },
    Status = new V1NodeStatus { Capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("64"), ["memory"] = new("256Gi"), ["pods"] = new("500") } },
});

// 1. Pods started per second: busybox pods created at once, until every one runs; against sh started directly.
var clock = Stopwatch.StartNew();
await Parallel.ForEachAsync(Enumerable.Range(0, shells), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
    await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
    {
        Metadata = new V1ObjectMeta { Name = $"shell-{i:000}" },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "busybox", Command = ["sleep", "3600"] }] },
    }, "default", cancellationToken: ct));
var running = await UntilAsync(async () => (await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: null)).Items.Count(p => p.Name().StartsWith("shell-", StringComparison.Ordinal) && p.Status?.Phase == "Running") == shells);
var podsPerSecond = shells / running.TotalSeconds;

clock.Restart();
var direct = Enumerable.Range(0, shells).Select(_ => Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 3600"]))!).ToList();
var directPerSecond = shells / clock.Elapsed.TotalSeconds;
foreach (var process in direct)
{
    process.Kill(entireProcessTree: true);
    process.Dispose();
}

await client.CoreV1.DeleteCollectionNamespacedPodAsync("default");

// 2. kaito-tiny servers: weights generated once into a PVC, then every server mounts it; apply to Ready (its /health).
await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
{
    Metadata = new V1ObjectMeta { Name = "tiny-weights" },
    Spec = new V1PersistentVolumeClaimSpec { AccessModes = ["ReadWriteMany"], Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } } },
}, "default");
await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
{
    Metadata = new V1ObjectMeta { Name = "weights" },
    Spec = new V1PodSpec
    {
        RestartPolicy = "Never",
        Containers = [new V1Container { Name = "generate", Image = "kaito-inference-server", Args = ["generate-tiny-model", "--out", "/weights"], VolumeMounts = [new V1VolumeMount { Name = "w", MountPath = "/weights" }] }],
        Volumes = [new V1Volume { Name = "w", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "tiny-weights" } }],
    },
}, "default");
await UntilAsync(async () => (await client.CoreV1.ReadNamespacedPodAsync("weights", "default")).Status?.Phase == "Succeeded");

var readyAt = new Dictionary<string, TimeSpan>();
clock.Restart();
await Parallel.ForEachAsync(Enumerable.Range(0, servers), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
    await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
    {
        Metadata = new V1ObjectMeta { Name = $"tiny-{i:000}" },
        Spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "server",
                    Image = "ghcr.io/kaito-dotnet/kaito-inference-server:latest",
                    Args = ["--model", "/workspace/weights/onnx", "--served-model-name", "kaito-tiny", "--port", "5000"],
                    ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/health", Port = 5000 }, PeriodSeconds = 1 },
                    VolumeMounts = [new V1VolumeMount { Name = "w", MountPath = "/workspace/weights", ReadOnlyProperty = true }],
                },
            ],
            Volumes = [new V1Volume { Name = "w", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "tiny-weights" } }],
        },
    }, "default", cancellationToken: ct));
var allReady = await UntilAsync(async () =>
{
    foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync("default")).Items.Where(p => p.Name().StartsWith("tiny-", StringComparison.Ordinal)))
    {
        if (pod.Status?.Conditions?.Any(c => c is { Type: "Ready", Status: "True" }) == true && !readyAt.ContainsKey(pod.Name()))
        {
            readyAt[pod.Name()] = clock.Elapsed;
        }
    }

    return readyAt.Count == servers;
});

// The same servers started directly, on the same weights, until each answers /health.
var weights = Path.Combine(Path.GetTempPath(), $"kaito-bench-weights-{Guid.NewGuid():N}");
using (var generate = Process.Start(new ProcessStartInfo("dotnet", [server, "generate-tiny-model", "--out", weights]) { RedirectStandardOutput = true })!)
{
    await generate.WaitForExitAsync();
}

var ports = Enumerable.Range(0, servers).Select(_ => Ports.Free()).ToList();
clock.Restart();
var plain = ports.Select(port => Process.Start(new ProcessStartInfo("dotnet",
    [server, "--model", Path.Combine(weights, "onnx"), "--served-model-name", "kaito-tiny", "--port", port.ToString(CultureInfo.InvariantCulture)])
    { RedirectStandardOutput = true, RedirectStandardError = true })!).ToList();
foreach (var process in plain)
{
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
}

TimeSpan directReady;
try
{
    directReady = await UntilAsync(() => AllHealthyAsync(ports));
}
finally
{
    foreach (var process in plain)
    {
        process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}

Directory.Delete(weights, recursive: true);

await client.CoreV1.DeleteCollectionNamespacedPodAsync("default");

// 3. kaito-tiny workspaces, as a user applies them: the controller's StatefulSet, the model image pulled through the
// node cache by Kaito's puller, the server's startup and readiness probes; apply to WorkspaceReady.
await using var registry = await RegistryProcess.StartAsync();
var tiny = Path.Combine(registry.Root, "tiny");
string[][] commands = [["model", "tiny", tiny], ["model", "push", tiny, "--preset", "kaito-tiny", "--registry", registry.Address, "--precision", "fp32", "--docker-config", registry.DockerConfig()]];
foreach (var command in commands)
{
    var (code, output) = await KaitoTools.KubectlKaitoAsync(command);
    if (code != 0)
    {
        throw new InvalidOperationException($"kubectl kaito {command[1]} failed: {output}");
    }
}

(await cluster.Kubectl.RunAsync("create", "secret", "docker-registry", "registry-creds", $"--docker-server={registry.Address}",
    $"--docker-username={registry.User}", $"--docker-password={registry.Password}")).EnsureSuccess();
await using var operators = await OperatorProcesses.StartAsync(cluster, controllerArguments: ["--Controller:NodeProvisioner=byo", $"--Controller:ModelRegistry={registry.Address}"]);
var workspaceReadyAt = new Dictionary<string, TimeSpan>();
clock.Restart();
await Parallel.ForEachAsync(Enumerable.Range(0, workspaces), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
    (await cluster.Kubectl.RunAsync(["apply", "-f", "-"], $"""
        apiVersion: kaito.sh/v1beta1
        kind: Workspace
        metadata:
          name: tiny-{i:000}
        resource:
          labelSelector:
            matchLabels:
              apps: bench
        inference:
          preset:
            name: kaito-tiny
            presetOptions:
              imagePullSecrets: [registry-creds]
        """, TimeSpan.FromMinutes(2))).EnsureSuccess());
var applied = clock.Elapsed;
var workspacesReady = await UntilAsync(async () =>
{
    var ready = (await cluster.Kubectl.RunAsync("get", "workspaces", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"WorkspaceReady\")].status}{\"\\n\"}{end}")).Output;
    foreach (var line in ready.Split('\n', StringSplitOptions.RemoveEmptyEntries))
    {
        var parts = line.Split(' ');
        if (parts is [var name, "True"] && !workspaceReadyAt.ContainsKey(name))
        {
            workspaceReadyAt[name] = clock.Elapsed;
        }
    }

    return workspaceReadyAt.Count == workspaces;
});

var times = readyAt.Values.Select(t => t.TotalSeconds).Order().ToList();
var workspaceTimes = workspaceReadyAt.Values.Select(t => t.TotalSeconds).Order().ToList();
Console.WriteLine();
Console.WriteLine($"{"measure",-40} {"kubelet",10} {"direct",10} {"ratio",8}");
Console.WriteLine($"{"busybox pods started per second",-40} {podsPerSecond,10:0.0} {directPerSecond,10:0.0} {podsPerSecond / directPerSecond,8:0.00}");
Console.WriteLine($"{$"{servers} kaito-tiny servers, all Ready (s)",-40} {allReady.TotalSeconds,10:0.0} {directReady.TotalSeconds,10:0.0} {allReady.TotalSeconds / directReady.TotalSeconds,8:0.00}");
Console.WriteLine($"{"apply to Ready, median server (s)",-40} {times[times.Count / 2],10:0.0}");
Console.WriteLine($"{"apply to Ready, first / last server (s)",-40} {times[0],10:0.0} {times[^1],10:0.0}");
Console.WriteLine();
Console.WriteLine($"{"measure",-40} {"workspace",10} {"pod",10} {"ratio",8}");
Console.WriteLine($"{$"{workspaces} kaito-tiny workspaces, all Ready (s)",-40} {workspacesReady.TotalSeconds + applied.TotalSeconds,10:0.0} {allReady.TotalSeconds,10:0.0} {(workspacesReady.TotalSeconds + applied.TotalSeconds) / allReady.TotalSeconds,8:0.00}");
Console.WriteLine($"{"apply to WorkspaceReady, median (s)",-40} {workspaceTimes[workspaceTimes.Count / 2],10:0.0} {times[times.Count / 2],10:0.0} {workspaceTimes[workspaceTimes.Count / 2] / times[times.Count / 2],8:0.00}");
Console.WriteLine($"{"apply to WorkspaceReady, first / last (s)",-40} {workspaceTimes[0],10:0.0} {workspaceTimes[^1],10:0.0}");
Console.WriteLine($"{"workspaces Ready per second",-40} {workspaces / (workspacesReady.TotalSeconds + applied.TotalSeconds),10:0.00}");

static async Task<bool> AllHealthyAsync(List<int> ports)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
    foreach (var port in ports)
    {
        try
        {
            if ((await http.GetAsync($"http://127.0.0.1:{port}/health")).StatusCode != HttpStatusCode.OK)
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false; // not yet
        }
    }

    return true;
}

static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition)
{
    var clock = Stopwatch.StartNew();
    while (!await condition())
    {
        if (clock.Elapsed > TimeSpan.FromMinutes(10))
        {
            throw new TimeoutException("the benchmark's condition was not reached in 10 minutes");
        }

        await Task.Delay(50);
    }

    return clock.Elapsed;
}
