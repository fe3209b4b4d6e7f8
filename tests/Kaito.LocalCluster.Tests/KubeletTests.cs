using System.Net.Http.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>LocalCluster's kubelet running real processes: volumes, env, exit codes, logs, probes, restarts, deletion.</summary>
public sealed class KubeletTests(KubeletFixture fixture) : IClassFixture<KubeletFixture>
{
    private readonly Kubectl _kubectl = fixture.Cluster.Kubectl;
    private readonly IKubernetes _client = fixture.Cluster.Client;

    [Fact]
    public async Task AContainerSeesItsVolumesEnvironmentAndHostsAndEndsWithItsExitCodeAndMessage()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {greeting: hello from a configmap, unused: x}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: token}
            stringData: {token: s3cret}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: backend}
            spec: {ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: reader, labels: {team: ml}}
            spec:
              restartPolicy: Never
              initContainers:
              - name: prepare
                image: busybox:1.36
                command: [sh, -c, "echo prepared > /work/state"]
                volumeMounts: [{name: work, mountPath: /work}]
              containers:
              - name: main
                image: docker.io/library/busybox
                command: [sh, -c]
                args:
                - |
                  cat /work/state
                  echo "file=$(cat /config/hello.txt) keys=$(ls /config | tr '\n' ' ')"
                  echo "secret=$(cat /secrets/token) mode=$(stat -Lc %a /secrets/token)"
                  echo "env=$GREETING pod=$POD_NAME team=$TEAM expanded=$(EXPANDED) memory=$MEMORY_MI"
                  grep -c "backend.default.svc.cluster.local" /etc/hosts
                  echo "host=$(hostname)"
                  echo "the cause, for the termination message" > /dev/termination-log
                  exit 3
                env:
                - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
                - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                - {name: TEAM, valueFrom: {fieldRef: {fieldPath: "metadata.labels['team']"}}}
                - {name: EXPANDED, value: "$(POD_NAME)-x"}
                - {name: MEMORY_MI, valueFrom: {resourceFieldRef: {containerName: main, resource: limits.memory, divisor: 1Mi}}}
                resources: {limits: {memory: 64Mi}}
                volumeMounts:
                - {name: work, mountPath: /work}
                - {name: config, mountPath: /config}
                - {name: secrets, mountPath: /secrets, readOnly: true}
              volumes:
              - {name: work, emptyDir: {}}
              - name: config
                configMap: {name: settings, items: [{key: greeting, path: hello.txt}]}
              - name: secrets
                secret: {secretName: token, defaultMode: 0400}
            """);

        var pod = await PodAsync("reader", p => p.Status?.Phase == "Failed");
        var logs = (await _kubectl.RunAsync("logs", "reader", "-c", "main")).EnsureSuccess().Output;

        var main = pod.Status.ContainerStatuses.Single();
        Assert.Equal(3, main.State.Terminated.ExitCode);
        Assert.Equal("Error", main.State.Terminated.Reason);
        Assert.Equal("the cause, for the termination message", main.State.Terminated.Message);
        Assert.Equal(0, pod.Status.InitContainerStatuses.Single().State.Terminated.ExitCode);
        Assert.StartsWith("127.244.", pod.Status.PodIP, StringComparison.Ordinal);
        Assert.Equal(
            "prepared\nfile=hello from a configmap keys=hello.txt \nsecret=s3cret mode=400\nenv=hello from a configmap pod=reader team=ml expanded=reader-x memory=64\n1\nhost=reader\n",
            logs);
        Assert.Contains("reader   0/1     Error", (await _kubectl.RunAsync("get", "pod", "reader")).EnsureSuccess().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMountUnderAHostSymlinkLandsInThePodAndAHostPathIsTheNodesOwnFolderSharedByItsPods()
    {
        // /var/run links to /run on Debian: the mount must follow the link inside the pod's root, never onto the host.
        var marker = $"kaito-{Guid.NewGuid():N}";
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: host-writer}
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "echo through-the-link > /var/run/MARKER/file && cat /run/MARKER/file && echo shared > /node-cache/from-writer"]
                volumeMounts:
                - {name: scratch, mountPath: /var/run/MARKER}
                - {name: cache, mountPath: /node-cache}
              volumes:
              - {name: scratch, emptyDir: {}}
              - {name: cache, hostPath: {path: /var/lib/MARKER, type: DirectoryOrCreate}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: host-reader}
            spec:
              restartPolicy: OnFailure
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "cat /cache/from-writer"]
                volumeMounts: [{name: cache, mountPath: /cache, readOnly: true}]
              volumes:
              - {name: cache, hostPath: {path: /var/lib/MARKER, type: Directory}}
            """.Replace("MARKER", marker, StringComparison.Ordinal));

        await PodAsync("host-writer", p => p.Status?.Phase == "Succeeded");
        Assert.Equal("through-the-link\n", (await _kubectl.RunAsync("logs", "host-writer")).EnsureSuccess().Output);
        Assert.False(Directory.Exists($"/run/{marker}"), "the mount went through the link onto the host");
        Assert.False(Directory.Exists($"/var/lib/{marker}"), "a hostPath is the node's folder, not the machine's");
        await PodAsync("host-reader", p => p.Status?.Phase == "Succeeded", TimeSpan.FromMinutes(2));
        Assert.Equal("shared\n", (await _kubectl.RunAsync("logs", "host-reader")).EnsureSuccess().Output);
    }

    [Fact]
    public async Task AMissingConfigMapKeyHoldsThePodInContainerCreatingUntilTheKeyExists()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: partial}
            data: {present: "yes"}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: waits-for-key}
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                command: [cat, /config/later]
                volumeMounts: [{name: config, mountPath: /config}]
              volumes:
              - name: config
                configMap: {name: partial, items: [{key: later, path: later}]}
            """);

        var failedMount = await Eventually.ValueAsync(async () => (await _kubectl.RunAsync("describe", "pod", "waits-for-key")).Output is var text &&
            text.Contains("FailedMount", StringComparison.Ordinal) ? text : null);
        Assert.Contains("MountVolume.SetUp failed for volume \"config\" : configmap references non-existent config key: later", failedMount, StringComparison.Ordinal);
        Assert.Equal("Pending", (await _client.CoreV1.ReadNamespacedPodAsync("waits-for-key", "default")).Status.Phase);

        (await _kubectl.RunAsync("patch", "configmap", "partial", "--type", "merge", "-p", """{"data":{"later":"arrived"}}""")).EnsureSuccess();

        await PodAsync("waits-for-key", p => p.Status?.Phase == "Succeeded");
        Assert.Equal("arrived\n", (await _kubectl.RunAsync("logs", "waits-for-key")).EnsureSuccess().Output);
    }

    [Fact]
    public async Task AMissingEnvironmentKeyIsACreateContainerConfigError()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: bad-env}
            spec:
              containers:
              - name: main
                image: busybox
                command: [sleep, "3600"]
                env: [{name: X, valueFrom: {secretKeyRef: {name: nowhere, key: k}}}]
            """);

        var pod = await PodAsync("bad-env", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason == "CreateContainerConfigError");
        Assert.Equal("secret \"nowhere\" not found", pod.Status.ContainerStatuses[0].State.Waiting.Message);
        Assert.Contains("CreateContainerConfigError", (await _kubectl.RunAsync("get", "pod", "bad-env")).EnsureSuccess().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsFollowARunningContainerUntilItEnds()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: ticker}
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "for i in 1 2 3 4 5; do echo tick $i; sleep 0.5; done"]
            """);
        await PodAsync("ticker", p => p.Status?.Phase is "Running" or "Succeeded");

        var followed = await _kubectl.RunAsync(["logs", "-f", "ticker"], null, TimeSpan.FromSeconds(60));
        var tail = await _kubectl.RunAsync("logs", "ticker", "--tail=2", "--timestamps");

        Assert.Equal("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n", followed.EnsureSuccess().Output);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT[\d:.]+Z tick 4\n\d{4}-\d\d-\d\dT[\d:.]+Z tick 5\n$", tail.EnsureSuccess().Output);
    }

    [Fact]
    public async Task AnImageThatCannotRunHereIsSimulatedAndSaysSo()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: elsewhere}
            spec:
              containers: [{name: web, image: "nginx:1.27"}]
            """);

        var pod = await PodAsync("elsewhere", p => p.Status?.Conditions?.Any(c => c.Type == "localcluster.kaito.sh/Simulated") == true);
        var describe = (await _kubectl.RunAsync("describe", "pod", "elsewhere")).EnsureSuccess().Output;

        Assert.Equal("simulated (image not runnable locally): nginx:1.27", pod.Status.Conditions.Single(c => c.Type == "localcluster.kaito.sh/Simulated").Message);
        Assert.Contains("Simulated", describe, StringComparison.Ordinal);
        Assert.Contains("simulated (image not runnable locally): nginx:1.27", describe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACrashingContainerRestartsWithBackOffAndDeletingThePodEndsItsProcesses()
    {
        var marker = $"{Random.Shared.Next(100_000, 999_999)}";
        await ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: crasher}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "echo run; sleep {{marker}} & sleep 0.2; exit 1"]
            """);

        var pod = await PodAsync("crasher", p => p.Status?.ContainerStatuses?.SingleOrDefault() is { RestartCount: >= 2, State.Waiting.Reason: "CrashLoopBackOff" });
        var previous = (await _kubectl.RunAsync("logs", "crasher", "--previous")).EnsureSuccess().Output;
        var status = (await _kubectl.RunAsync("get", "pod", "crasher")).EnsureSuccess().Output;

        Assert.Equal(1, pod.Status.ContainerStatuses[0].LastState.Terminated.ExitCode);
        Assert.Equal("run\n", previous);
        Assert.Contains("CrashLoopBackOff", status, StringComparison.Ordinal);
        // The background sleep of every run went with its container.
        Assert.True(KubeletFixture.ProcessesWith($"sleep {marker}").Count <= 1);

        await ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: long-runner}
            spec:
              terminationGracePeriodSeconds: 30
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "trap 'echo stopping; exit 0' TERM; while true; do sleep 0.1; done; echo {{marker}}x"]
            """);
        await PodAsync("long-runner", p => p.Status?.Phase == "Running");
        Assert.NotEmpty(KubeletFixture.ProcessesWith($"{marker}x"));

        (await _kubectl.RunAsync("delete", "pod", "long-runner", "crasher")).EnsureSuccess();

        await Eventually.TrueAsync(() => KubeletFixture.ProcessesWith($"{marker}x").Count == 0 && KubeletFixture.ProcessesWith($"sleep {marker}").Count == 0);
    }

    [Fact]
    public async Task ADeletedPodIsTerminatingUntilItsContainersStopAndAForcedDeletionRemovesItAtOnce()
    {
        var marker = $"{Random.Shared.Next(100_000, 999_999)}";
        await ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: graceful}
            spec:
              terminationGracePeriodSeconds: 30
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done; echo {{marker}}g"]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: stubborn}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "trap '' TERM; while true; do sleep 0.1; done; echo {{marker}}s"]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: forced}
            spec:
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "while true; do sleep 0.1; done; echo {{marker}}f"]
            """);
        foreach (var name in new[] { "graceful", "stubborn", "forced" })
        {
            await PodAsync(name, p => p.Status?.Phase == "Running");
        }

        // Graceful: Terminating (a deletionTimestamp and the pod's grace period) while its trap runs, then gone.
        (await _kubectl.RunAsync("delete", "pod", "graceful", "--wait=false")).EnsureSuccess();
        var terminating = await _client.CoreV1.ReadNamespacedPodAsync("graceful", "default");
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        Assert.Equal(30, terminating.Metadata.DeletionGracePeriodSeconds);
        Assert.Contains("Terminating", (await _kubectl.RunAsync("get", "pod", "graceful")).Output, StringComparison.Ordinal);
        (await _kubectl.RunAsync(["wait", "--for=delete", "pod/graceful", "--timeout=60s"], null, TimeSpan.FromSeconds(90))).EnsureSuccess();
        Assert.Empty(KubeletFixture.ProcessesWith($"{marker}g"));

        // A container that ignores SIGTERM is killed when its grace period ends, and only then is the pod gone.
        (await _kubectl.RunAsync(["delete", "pod", "stubborn"], null, TimeSpan.FromSeconds(90))).EnsureSuccess();
        Assert.Empty(KubeletFixture.ProcessesWith($"{marker}s"));

        // --force --grace-period=0: removed from the API at once; the kubelet still stops what ran.
        (await _kubectl.RunAsync("delete", "pod", "forced", "--force", "--grace-period=0")).EnsureSuccess();
        Assert.DoesNotContain(_client.CoreV1.ListNamespacedPod("default").Items, p => p.Metadata.Name == "forced");
        await Eventually.TrueAsync(() => KubeletFixture.ProcessesWith($"{marker}f").Count == 0);
    }

    [Fact]
    public async Task AFailingLivenessProbeRestartsTheContainerAndReadinessGatesReady()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: probed}
            spec:
              containers:
              - name: main
                image: busybox
                command: [sh, -c, "sleep 2; touch /tmp/ready; while true; do sleep 1; done"]
                readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
                livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 4}
            """);

        await PodAsync("probed", p => p.Status?.Conditions?.Any(c => c is { Type: "Ready", Status: "True" }) == true);
        var restarted = await PodAsync("probed", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.RestartCount >= 1);
        var describe = (await _kubectl.RunAsync("describe", "pod", "probed")).EnsureSuccess().Output;

        Assert.Equal(128 + 15, restarted.Status.ContainerStatuses[0].LastState.Terminated.ExitCode); // SIGTERM ended it, within its grace
        Assert.Contains("Liveness probe failed", describe, StringComparison.Ordinal);
        Assert.Contains("Container main failed liveness probe, will be restarted", describe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJobCompletesOrFailsFromRealExitCodes()
    {
        await ApplyAsync("""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: counts}
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: main, image: busybox, command: [sh, -c, "for i in 1 2 3; do echo step $i; done"]}
            ---
            apiVersion: batch/v1
            kind: Job
            metadata: {name: bad-input}
            spec:
              backoffLimit: 3
              podFailurePolicy:
                rules: [{action: FailJob, onExitCodes: {containerName: main, operator: In, values: [2]}}]
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: main, image: busybox, command: [sh, -c, "echo bad row 7 >&2; exit 2"]}
            """);

        var done = await Eventually.ValueAsync(async () => await _client.BatchV1.ReadNamespacedJobAsync("counts", "default") is { Status.Succeeded: 1 } job ? job : null, TimeSpan.FromSeconds(60));
        var failed = await Eventually.ValueAsync(async () => await _client.BatchV1.ReadNamespacedJobAsync("bad-input", "default") is { Status.Failed: >= 1 } job &&
            job.Status.Conditions?.Any(c => c.Type == "Failed") == true ? job : null, TimeSpan.FromSeconds(60));

        Assert.Equal("step 1\nstep 2\nstep 3\n", (await _kubectl.RunAsync("logs", "job/counts")).EnsureSuccess().Output);
        Assert.Equal("bad row 7\n", (await _kubectl.RunAsync("logs", "job/bad-input")).EnsureSuccess().Output);
        Assert.Equal(1, failed.Status.Failed);
        Assert.Equal("PodFailurePolicy", failed.Status.Conditions.Single(c => c.Type == "Failed").Reason);
        Assert.NotNull(done.Status.CompletionTime);
    }

    [Fact]
    public async Task TheInferenceServerRunsInAPodServesOnItsPodIpAndServiceAndIsRestartedWhenKilled()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Service
            metadata: {name: tiny}
            spec:
              selector: {app: tiny}
              ports: [{name: http, port: 80, targetPort: 5000}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: tiny-server, labels: {app: tiny}}
            spec:
              initContainers:
              - name: weights
                image: ghcr.io/kaito-dotnet/kaito-inference-server:latest
                args: [generate-tiny-model, --out, /workspace/weights]
                volumeMounts: [{name: weights, mountPath: /workspace/weights}]
              containers:
              - name: server
                image: mcr.example.com/any/registry/kaito-inference-server:v9
                args: [--model, /workspace/weights/onnx, --served-model-name, kaito-tiny, --port, "5000"]
                ports: [{name: http, containerPort: 5000}]
                readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 1}
                volumeMounts: [{name: weights, mountPath: /workspace/weights}]
              volumes:
              - {name: weights, emptyDir: {}}
            """);

        var pod = await PodAsync("tiny-server", p => p.Status?.Conditions?.Any(c => c is { Type: "Ready", Status: "True" }) == true, TimeSpan.FromMinutes(3));
        using var http = new HttpClient { BaseAddress = new Uri($"http://{pod.Status.PodIP}:5000/") };
        using var chat = await http.PostAsJsonAsync("chat", new { prompt = "hello", generate_kwargs = new { max_length = 12 } });
        var answer = await chat.Content.ReadFromJsonAsync<JsonObject>();

        Assert.True(chat.IsSuccessStatusCode, answer?.ToJsonString());
        Assert.StartsWith("hello", (string?)answer?["Result"], StringComparison.Ordinal);
        Assert.Contains("Model kaito-tiny loaded", (await _kubectl.RunAsync("logs", "tiny-server")).EnsureSuccess().Output, StringComparison.Ordinal);

        // Through the Service: its ClusterIP on port 80 from here, and its DNS name from a curl pod, as the brief does.
        var service = await _client.CoreV1.ReadNamespacedServiceAsync("tiny", "default");
        using var viaService = new HttpClient { BaseAddress = new Uri($"http://{service.Spec.ClusterIP}/") };
        Assert.True((await viaService.GetAsync("health")).IsSuccessStatusCode);
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: curl}
            spec:
              restartPolicy: Never
              containers:
              - name: curl
                image: curlimages/curl
                args: [curl, -s, -X, POST, "http://tiny.default.svc.cluster.local/chat", -H, "Content-Type: application/json", -d, '{"prompt": "hi", "generate_kwargs": {"max_length": 8}}']
            """);
        await PodAsync("curl", p => p.Status?.Phase == "Succeeded");
        Assert.StartsWith("{\"Result\":\"hi", (await _kubectl.RunAsync("logs", "curl")).EnsureSuccess().Output, StringComparison.Ordinal);

        // kill -9 of the server inside the pod: the kubelet sees the exit, counts a restart and starts it again.
        // (this pod's: other test assemblies may run kaito-tiny servers in their own clusters meanwhile)
        var server = KubeletFixture.ProcessesWith("--served-model-name kaito-tiny").Single(pid =>
            File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("/.kaito/dotnet/dotnet", StringComparison.Ordinal)
            && File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"KAITO_POD_IP={pod.Status.PodIP}"));
        using (var kill = System.Diagnostics.Process.Start("kill", ["-9", server.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var restarted = await PodAsync("tiny-server", p => p.Status?.ContainerStatuses?.Single() is { RestartCount: 1, Ready: true }, TimeSpan.FromMinutes(3));
        Assert.Equal(137, restarted.Status.ContainerStatuses[0].LastState.Terminated.ExitCode);
        using var again = await http.GetAsync("health");
        Assert.True(again.IsSuccessStatusCode);
    }

    [Fact]
    public async Task ExecAndRunAttachStreamOverWebSocketsWithStdinAndExitCodes()
    {
        (await _kubectl.RunAsync("run", "shell", "--image=busybox", "--", "sleep", "3600")).EnsureSuccess();
        await PodAsync("shell", p => p.Status?.Phase == "Running");

        var exec = await _kubectl.RunAsync("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; cat /etc/hostname; exit 4");
        var piped = await _kubectl.RunAsync(["exec", "-i", "shell", "--", "tr", "a-z", "A-Z"], "piped through the container\n", TimeSpan.FromSeconds(60));
        var run = await _kubectl.RunAsync(["run", "-i", "--rm", "--restart=Never", "once", "--image=busybox", "--", "sh", "-c", "read line; echo got: $line; exit 5"],
            "typed input\n", TimeSpan.FromSeconds(120));

        Assert.Equal(4, exec.ExitCode);
        Assert.Equal("out\nshell\n", exec.Output);
        Assert.Contains("err", exec.Error, StringComparison.Ordinal);
        Assert.Equal("PIPED THROUGH THE CONTAINER\n", piped.EnsureSuccess().Output);
        Assert.True(run.ExitCode == 5 && run.Output.StartsWith("got: typed input\n", StringComparison.Ordinal),
            $"kubectl run -i --rm exited {run.ExitCode}, printed [{run.Output}] and on stderr [{run.Error}]");
        Assert.DoesNotContain("falling back to streaming logs", run.Error, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => _client.CoreV1.ListNamespacedPod("default").Items.All(p => p.Metadata.Name != "once"));
    }

    [Fact]
    public async Task PortForwardAndProxyReachAPodAndAServiceOverKubectlsWebSocketTunnelOrSpdyAndAClosedPortIsReported()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: web, labels: {app: web}}
            spec:
              containers:
              - name: httpd
                image: busybox
                command: [sh, -c, "mkdir -p /www && echo hello from the pod > /www/index.html && head -c 3000000 /dev/urandom > /www/big && exec httpd -f -p $POD_IP:8080 -h /www"]
                env:
                - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                ports: [{name: site, containerPort: 8080}]
                readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              selector: {app: web}
              ports: [{port: 80, targetPort: 8080}]
            """);
        await PodAsync("web", p => p.Status?.ContainerStatuses?.SingleOrDefault()?.Ready == true);
        var expected = (await _kubectl.RunAsync("exec", "web", "--", "sha256sum", "/www/big")).EnsureSuccess().Output.Split(' ')[0];

        await using (var pod = await PortForwarding.StartAsync(_kubectl, "pod/web", 8080))
        {
            using var http = new HttpClient { BaseAddress = pod.BaseAddress };
            // Several connections at once, each its own pair of SPDY streams; a body of many data frames intact.
            var pages = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => http.GetStringAsync(new Uri("index.html", UriKind.Relative))));
            var big = await http.GetByteArrayAsync(new Uri("big", UriKind.Relative));
            Assert.All(pages, page => Assert.Equal("hello from the pod\n", page));
            Assert.Equal(3_000_000, big.Length);
            Assert.Equal(expected, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(big)));
        }

        await using (var service = await PortForwarding.StartAsync(_kubectl, "svc/web", 80))
        {
            using var http = new HttpClient { BaseAddress = service.BaseAddress };
            Assert.Equal("hello from the pod\n", await http.GetStringAsync(new Uri("index.html", UriKind.Relative)));
        }

        // Clients without the WebSocket tunnel upgrade the connection to SPDY itself: the same streams.
        await using (var spdy = await PortForwarding.StartAsync(_kubectl, "pod/web", 8080, new Dictionary<string, string> { ["KUBECTL_PORT_FORWARD_WEBSOCKETS"] = "false" }))
        {
            using var http = new HttpClient { BaseAddress = spdy.BaseAddress };
            Assert.Equal(3_000_000, (await http.GetByteArrayAsync(new Uri("big", UriKind.Relative))).Length);
        }

        // The pods' proxy subresource, by port number and by the container port's name.
        Assert.Equal("hello from the pod\n", (await _kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web:8080/proxy/index.html")).EnsureSuccess().Output);
        Assert.Equal("hello from the pod\n", (await _kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web:site/proxy/index.html")).EnsureSuccess().Output);

        // Nothing listens on 9: the connection is refused, and kubectl prints the kubelet's words from the error stream.
        await using var closed = await PortForwarding.StartAsync(_kubectl, "pod/web", 9);
        using var refused = new HttpClient { BaseAddress = closed.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => refused.GetStringAsync(new Uri("index.html", UriKind.Relative)));
        var log = await Eventually.ValueAsync(() => Task.FromResult(closed.Log.Contains("error forwarding port 9 to pod web", StringComparison.Ordinal) ? closed.Log : null));
        Assert.Contains("ConnectionRefused", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version 2", "80 02 00 01 00 00 00 0a 00 00 00 01 00 00 00 00 00 00")]
    [InlineData("a header block that is not zlib", "80 03 00 01 00 00 00 0e 00 00 00 01 00 00 00 00 00 00 12 34 56 78")]
    [InlineData("a frame longer than the limit", "80 03 00 01 00 ff ff ff")]
    public async Task PortForwardAnswersBrokenSpdyWithGoAwayAndTheClusterCarriesOn(string broken, string hex)
    {
        _ = broken;
        var pod = $"spdy-{Guid.NewGuid():N}"[..16];
        (await _kubectl.RunAsync("run", pod, "--image=busybox", "--", "sleep", "3600")).EnsureSuccess();
        await PodAsync(pod, p => p.Status?.Phase == "Running");
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(fixture.Cluster.Kubeconfig);
        var api = new Uri(config.Host);

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(api.Host, api.Port);
#pragma warning disable CA5359 // LocalCluster's per-run CA on loopback; the test checks SPDY handling, not TLS
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
#pragma warning restore CA5359
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = api.Host,
            ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
        });
        var request = $"POST /api/v1/namespaces/default/pods/{pod}/portforward HTTP/1.1\r\nHost: {api.Authority}\r\n" +
            $"Authorization: Bearer {config.AccessToken}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n";
        await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        var response = new List<byte>();
        var one = new byte[1];
        while (!System.Text.Encoding.ASCII.GetString([.. response]).EndsWith("\r\n\r\n", StringComparison.Ordinal) && await tls.ReadAsync(one) == 1)
        {
            response.Add(one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101", System.Text.Encoding.ASCII.GetString([.. response]), StringComparison.Ordinal);
        await tls.WriteAsync(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));

        // GOAWAY (a SPDY/3 control frame of type 7), then the connection closes.
        var reply = new byte[16];
        var read = 0;
        while (read < reply.Length && await tls.ReadAsync(reply.AsMemory(read)) is var n and > 0)
        {
            read += n;
        }

        Assert.Equal("80030007", Convert.ToHexString(reply, 0, 4));
        Assert.Equal(0, await tls.ReadAsync(one));
        (await _kubectl.RunAsync("get", "pod", pod)).EnsureSuccess();
        (await _kubectl.RunAsync("delete", "pod", pod, "--wait=false")).EnsureSuccess();
    }

    private async Task ApplyAsync(string yaml) =>
        (await _kubectl.RunAsync(["apply", "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();

    private async Task<V1Pod> PodAsync(string name, Func<V1Pod, bool> condition, TimeSpan? timeout = null) =>
        await Eventually.ValueAsync(async () => await _client.CoreV1.ReadNamespacedPodAsync(name, "default") is { } pod && condition(pod) ? pod : null,
            timeout ?? TimeSpan.FromSeconds(60),
            () => $"pod {name}: {(_kubectl.RunAsync("describe", "pod", name).GetAwaiter().GetResult()).Output}");
}
