using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using Kaito.Testing;

// dotnet run -c Release --project bench/Kaito.Controller.Benchmarks [-- <workspaces> [<workers>]]
var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
var workers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
Console.WriteLine($"Reconciling {count} workspaces (phi-4-mini-instruct on Standard_NC24ads_A100_v4) with {workers} workers on LocalCluster + local provisioner");

await using var cluster = await LocalClusterProcess.StartAsync();
(await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
await using var provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
    ["--kubeconfig", cluster.Kubeconfig, "--provider", "local", "--Provisioner:BootDelay=00:00:00", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0",
     "--Logging:LogLevel:Default=Warning"]);
await using var controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
    ["--kubeconfig", cluster.Kubeconfig, "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0", $"--Controller:Workers={workers}",
     "--Logging:LogLevel:Default=Warning"]);
await Task.Delay(TimeSpan.FromSeconds(3)); // caches synced before the clock starts
var cpuBefore = controller.CpuTime;
var requestsBefore = await ControllerRequestsAsync(cluster);

var clock = Stopwatch.StartNew();
using (var gate = new SemaphoreSlim(32))
{
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var name = $"bench-{i:0000}";
            await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new Dictionary<string, object>
            {
                ["apiVersion"] = "kaito.sh/v1beta1",
                ["kind"] = "Workspace",
                ["metadata"] = new Dictionary<string, object> { ["name"] = name },
                ["resource"] = new Dictionary<string, object>
                {
                    ["instanceType"] = "Standard_NC24ads_A100_v4",
                    ["labelSelector"] = new Dictionary<string, object> { ["matchLabels"] = new Dictionary<string, string> { ["apps"] = name } },
                },
                ["inference"] = new Dictionary<string, object> { ["preset"] = new Dictionary<string, string> { ["name"] = "phi-4-mini-instruct" } },
            }, "kaito.sh", "v1beta1", "default", "workspaces");
        }
        finally
        {
            gate.Release();
        }
    }));
}

var created = clock.Elapsed;
var ready = 0;
var progress = Stopwatch.StartNew();
while (ready < count)
{
    await Task.Delay(TimeSpan.FromSeconds(1));
    var list = (JsonElement)await cluster.Client.CustomObjects.ListNamespacedCustomObjectAsync("kaito.sh", "v1beta1", "default", "workspaces");
    ready = list.GetProperty("items").EnumerateArray().Count(w => w.TryGetProperty("status", out var s) && s.TryGetProperty("state", out var st) && st.GetString() == "Ready");
    if (progress.Elapsed > TimeSpan.FromSeconds(10))
    {
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:0.0} s: {ready}/{count} ready");
        progress.Restart();
    }

    if (controller.HasExited || clock.Elapsed > TimeSpan.FromMinutes(30))
    {
        Console.Error.WriteLine($"stopped: {ready}/{count} ready after {clock.Elapsed.TotalSeconds:0} s\n{controller.FinalLog()}");
        return 1;
    }
}

var allReady = clock.Elapsed;
var cpu = controller.CpuTime - cpuBefore;
var requests = await ControllerRequestsAsync(cluster) - requestsBefore;
var peak = PeakMemoryMiB(controller.Id);
Console.WriteLine();
Console.WriteLine($"| workspaces | created in | all Ready after | per workspace | controller API requests | per workspace | controller CPU | CPU per workspace | peak RSS |");
Console.WriteLine($"|---|---|---|---|---|---|---|---|---|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| {count} | {created.TotalSeconds:0.0} s | {allReady.TotalSeconds:0.0} s | {allReady.TotalMilliseconds / count:0.0} ms | {requests} | {(double)requests / count:0.0} | {cpu.TotalSeconds:0.0} s | {cpu.TotalMilliseconds / count:0.0} ms | {peak:0} MiB |"));
return 0;

static async Task<long> ControllerRequestsAsync(LocalClusterProcess cluster)
{
    var metrics = (await cluster.Kubectl.RunAsync("get", "--raw", "/metrics")).EnsureSuccess().Output;
    return Regex.Matches(metrics, "^localcluster_client_requests_total\\{client=\"Kaito.Controller\",verb=\"[A-Z]+\"\\} (\\d+)$", RegexOptions.Multiline)
        .Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
}

static double PeakMemoryMiB(int pid)
{
    var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}
