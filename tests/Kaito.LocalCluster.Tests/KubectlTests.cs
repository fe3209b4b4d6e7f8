using k8s;
using System.Diagnostics;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>The real kubectl against LocalCluster, with the brief's quick start and Kaito's CRDs.</summary>
public sealed class KubectlTests(LocalClusterFixture fixture) : IClassFixture<LocalClusterFixture>
{
    private readonly Kubectl _kubectl = fixture.Cluster.Kubectl;
    private static readonly string s_quickStart = Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_phi_3.yaml");

    [Fact]
    public async Task TheQuickStartAppliesAndGetWorkspacePrintsTheCrdColumns()
    {
        var applied = await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "quick-start-1");
        Assert.Contains("namespaces \"quick-start-1\" not found", applied.Error, StringComparison.Ordinal);
        await CreateNamespaceAsync("quick-start-1");

        applied = (await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "quick-start-1")).EnsureSuccess();
        var again = (await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "quick-start-1")).EnsureSuccess();
        var table = (await _kubectl.RunAsync("get", "workspace", "-n", "quick-start-1")).EnsureSuccess();
        var alpha = (await _kubectl.RunAsync("get", "workspaces.v1alpha1.kaito.sh", "-n", "quick-start-1")).EnsureSuccess();

        Assert.Equal("workspace.kaito.sh/workspace-tuning-phi-3 created\n", applied.Output);
        Assert.Equal("workspace.kaito.sh/workspace-tuning-phi-3 unchanged\n", again.Output);
        var header = table.Output.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // KAITO's columns for each version, with the brief's WORKSPACEREADY (its NAME INSTANCE RESOURCEREADY
        // INFERENCEREADY WORKSPACEREADY AGE, in that order).
        Assert.Equal(["NAME", "INSTANCE", "RESOURCEREADY", "INFERENCEREADY", "JOBSTARTED", "WORKSPACESUCCEEDED", "WORKSPACEREADY", "TARGETNODECOUNT", "STATE", "AGE"], header);
        Assert.Equal(["NAME", "INSTANCE", "RESOURCEREADY", "INFERENCEREADY", "JOBSTARTED", "WORKSPACESUCCEEDED", "WORKSPACEREADY", "AGE"],
            alpha.Output.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("workspace-tuning-phi-3   Standard_NC6s_v3", table.Output.Split('\n')[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsYamlShowsTheStoredObjectWithItsMetadata()
    {
        await CreateNamespaceAsync("yaml-view");
        (await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "yaml-view")).EnsureSuccess();

        var yaml = (await _kubectl.RunAsync("get", "wk", "workspace-tuning-phi-3", "-n", "yaml-view", "-o", "yaml")).EnsureSuccess().Output;
        var alpha = (await _kubectl.RunAsync("get", "workspaces.v1alpha1.kaito.sh", "workspace-tuning-phi-3", "-n", "yaml-view",
            "-o", "jsonpath={.apiVersion} {.tuning.method} {.resource.count}")).EnsureSuccess().Output;

        Assert.Contains("apiVersion: kaito.sh/v1beta1", yaml, StringComparison.Ordinal);
        Assert.Contains("uid: ", yaml, StringComparison.Ordinal);
        Assert.Contains("resourceVersion: ", yaml, StringComparison.Ordinal);
        Assert.Contains("generation: 1", yaml, StringComparison.Ordinal);
        Assert.Contains("imagePushSecret: ACR_REGISTRY_SECRET_HERE", yaml, StringComparison.Ordinal);
        Assert.Equal("kaito.sh/v1alpha1 qlora 1", alpha);
    }

    [Fact]
    public async Task PatchAndLabelChangeTheObjectAndGenerationFollowsTheSpecOnly()
    {
        await CreateNamespaceAsync("patching");
        (await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "patching")).EnsureSuccess();

        (await _kubectl.RunAsync("label", "wk", "workspace-tuning-phi-3", "team=ml", "-n", "patching")).EnsureSuccess();
        var afterLabel = await JsonPathAsync("patching", "{.metadata.generation}");
        (await _kubectl.RunAsync("patch", "wk", "workspace-tuning-phi-3", "-n", "patching", "--type", "merge",
            "-p", "{\"tuning\":{\"output\":{\"image\":\"registry.example.com/adapter:0.0.2\"}}}")).EnsureSuccess();

        Assert.Equal("1", afterLabel);
        Assert.Equal("2 ml registry.example.com/adapter:0.0.2",
            await JsonPathAsync("patching", "{.metadata.generation} {.metadata.labels.team} {.tuning.output.image}"));
    }

    [Fact]
    public async Task AnUnknownFieldIsRefusedByStrictFieldValidation()
    {
        await CreateNamespaceAsync("strict");
        var manifest = File.ReadAllText(s_quickStart).Replace("  method: qlora", "  method: qlora\n  epochs: 3", StringComparison.Ordinal);

        var result = await _kubectl.RunAsync(["apply", "-n", "strict", "-f", "-"], manifest, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("unknown field \"tuning.epochs\"", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteWaitsWhileAFinalizerIsPresentAndGetWatchSeesEveryChange()
    {
        await CreateNamespaceAsync("deleting");
        (await _kubectl.RunAsync("apply", "-f", s_quickStart, "-n", "deleting")).EnsureSuccess();
        (await _kubectl.RunAsync("patch", "wk", "workspace-tuning-phi-3", "-n", "deleting", "--type", "merge",
            "-p", "{\"metadata\":{\"finalizers\":[\"workspace.finalizer.kaito.sh\"]}}")).EnsureSuccess();
        using var watch = _kubectl.Start("get", "wk", "-n", "deleting", "-w", "--output-watch-events");
        var lines = new List<string>();
        var watched = Task.Run(async () =>
        {
            while (await watch.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        });
        for (var wait = Stopwatch.StartNew(); !Contains(lines, "ADDED") && wait.Elapsed < TimeSpan.FromSeconds(20);)
        {
            await Task.Delay(50);
        }

        var delete = _kubectl.RunAsync(["delete", "wk", "workspace-tuning-phi-3", "-n", "deleting"], null, TimeSpan.FromSeconds(60));
        // The delete has reached the server once the object is marked; kubectl then waits for it to go.
        var stillThere = await Eventually.ValueAsync(async () => await JsonPathAsync("deleting", "{.metadata.deletionTimestamp}") is { Length: > 0 } t ? t : null);
        Assert.False(delete.IsCompleted, "kubectl delete returned while the finalizer was present");
        (await _kubectl.RunAsync("patch", "wk", "workspace-tuning-phi-3", "-n", "deleting", "--type", "json",
            "-p", "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]")).EnsureSuccess();
        var deleted = (await delete).EnsureSuccess();
        await Eventually.TrueAsync(() => Contains(lines, "DELETED"));
        watch.Kill();
        await watched;

        Assert.NotEmpty(stillThere);
        Assert.Equal("workspace.kaito.sh \"workspace-tuning-phi-3\" deleted\n", deleted.Output);
        var kinds = lines.Skip(1).Select(l => l.Split(' ')[0]).ToList();
        // Removing the last finalizer deletes without writing the update first, as the API server does.
        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], kinds);
        Assert.Equal("", (await _kubectl.RunAsync("get", "wk", "-n", "deleting", "-o", "name")).EnsureSuccess().Output);
    }

    [Fact]
    public async Task WaitForConditionReturnsOnceTheStatusSaysSo()
    {
        await CreateNamespaceAsync("waiting");
        (await _kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"), "-n", "waiting")).EnsureSuccess();
        var clock = Stopwatch.StartNew();
        var readsBefore = await KubectlReadsAsync();
        var wait = _kubectl.RunAsync(["wait", "--for=condition=WorkspaceReady", "wk/workspace-phi-4-mini", "-n", "waiting", "--timeout=30s"], null, TimeSpan.FromSeconds(60));
        // kubectl wait has read the workspace (LocalCluster counts each client's requests); it then watches from that
        // version, so the patch below reaches it whenever it lands.
        await Eventually.ValueAsync(async () => await KubectlReadsAsync() > readsBefore ? "read" : null);
        Assert.False(wait.IsCompleted, "kubectl wait returned before the condition was set");

        (await _kubectl.RunAsync("patch", "wk", "workspace-phi-4-mini", "-n", "waiting", "--subresource=status", "--type", "merge", "-p",
            "{\"status\":{\"state\":\"Ready\",\"conditions\":[{\"type\":\"WorkspaceReady\",\"status\":\"True\",\"reason\":\"InferenceReady\",\"message\":\"serving\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}"))
            .EnsureSuccess();
        var result = (await wait).EnsureSuccess();

        Assert.Equal("workspace.kaito.sh/workspace-phi-4-mini condition met\n", result.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25));
        var row = (await _kubectl.RunAsync("get", "wk", "-n", "waiting", "--no-headers")).EnsureSuccess().Output;
        Assert.Matches(@"^workspace-phi-4-mini\s+Standard_NC24ads_A100_v4\s+True\s+Ready\s+\d+s\n$", row);
    }

    [Fact]
    public async Task ApiResourcesAndExplainKnowTheWorkspace()
    {
        var resources = (await _kubectl.RunAsync("api-resources", "--api-group=kaito.sh")).EnsureSuccess().Output;
        var explain = (await _kubectl.RunAsync("explain", "workspace.tuning.method")).EnsureSuccess().Output;

        Assert.Matches(@"workspaces\s+wk,wks\s+kaito.sh/v1beta1\s+true\s+Workspace", resources);
        Assert.Contains("The tuning method: lora or qlora (case-insensitive). Immutable.", explain, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KubectlCreateSendsProtobufAndTheObjectsArriveWhole()
    {
        await CreateNamespaceAsync("created");
        var config = Path.Combine(Path.GetTempPath(), $"training_config-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, "training_config:\n  LoraConfig:\n    r: 16\n");

        (await _kubectl.RunAsync("create", "configmap", "my-tuning", "-n", "created", "--from-file", $"training_config.yaml={config}",
            "--from-literal", "note=ünïcödé")).EnsureSuccess();
        (await _kubectl.RunAsync("create", "secret", "docker-registry", "push-secret", "-n", "created", "--docker-server", "myregistry.azurecr.io",
            "--docker-username", "kaito", "--docker-password", "s3cr3t")).EnsureSuccess();
        (await _kubectl.RunAsync("create", "secret", "generic", "token", "-n", "created", "--from-literal", "token=abc")).EnsureSuccess();
        (await _kubectl.RunAsync("create", "serviceaccount", "tuner", "-n", "created")).EnsureSuccess();
        (await _kubectl.RunAsync(["apply", "-n", "created", "-f", "-"], "apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  password: hunter2\n",
            TimeSpan.FromSeconds(60))).EnsureSuccess();
        (await _kubectl.RunAsync("label", "namespace", "created", "team=ml")).EnsureSuccess();
        var deployment = await _kubectl.RunAsync("create", "deployment", "web", "-n", "created", "--image", "nginx");
        File.Delete(config);

        var configMap = await fixture.Cluster.Client.CoreV1.ReadNamespacedConfigMapAsync("my-tuning", "created");
        var push = await fixture.Cluster.Client.CoreV1.ReadNamespacedSecretAsync("push-secret", "created");
        var token = await fixture.Cluster.Client.CoreV1.ReadNamespacedSecretAsync("token", "created");
        var account = await fixture.Cluster.Client.CoreV1.ReadNamespacedServiceAccountAsync("tuner", "created");
        var plain = await fixture.Cluster.Client.CoreV1.ReadNamespacedSecretAsync("plain", "created");
        var ns = await fixture.Cluster.Client.CoreV1.ReadNamespaceAsync("created");

        Assert.Equal("training_config:\n  LoraConfig:\n    r: 16\n", configMap.Data["training_config.yaml"]);
        Assert.Equal("ünïcödé", configMap.Data["note"]);
        Assert.Equal("kubernetes.io/dockerconfigjson", push.Type);
        var docker = System.Text.Json.JsonDocument.Parse(push.Data[".dockerconfigjson"]).RootElement.GetProperty("auths").GetProperty("myregistry.azurecr.io");
        Assert.Equal("kaito", docker.GetProperty("username").GetString());
        Assert.Equal("s3cr3t", docker.GetProperty("password").GetString());
        Assert.Equal("Opaque", token.Type);
        Assert.Equal("abc", System.Text.Encoding.UTF8.GetString(token.Data["token"]));
        Assert.Equal("tuner", account.Metadata.Name);
        Assert.Equal("hunter2", System.Text.Encoding.UTF8.GetString(plain.Data["password"]));
        Assert.Null(plain.StringData);
        Assert.Equal("ml", ns.Metadata.Labels["team"]);
        Assert.NotEqual(0, deployment.ExitCode);
        Assert.Contains("LocalCluster decodes protobuf bodies of Namespace, ConfigMap, Secret, ServiceAccount, Role, ClusterRole, RoleBinding, ClusterRoleBinding, TokenRequest only, not Deployment; send application/json",
            deployment.Error, StringComparison.Ordinal);
    }

    private static bool Contains(List<string> lines, string text)
    {
        lock (lines)
        {
            return lines.Any(l => l.StartsWith(text, StringComparison.Ordinal));
        }
    }

    /// <summary><c>kubectl create namespace</c>: a protobuf body, as kubectl's typed clients send.</summary>
    private async Task CreateNamespaceAsync(string name) =>
        (await _kubectl.RunAsync("create", "namespace", name)).EnsureSuccess();

    private async Task<string> JsonPathAsync(string ns, string path) =>
        (await _kubectl.RunAsync("get", "wk", "workspace-tuning-phi-3", "-n", ns, "-o", $"jsonpath={path}")).EnsureSuccess().Output;

    /// <summary>How many reads (get and list) kubectl has made, from LocalCluster's request metrics.</summary>
    private async Task<double> KubectlReadsAsync()
    {
        var metrics = (await _kubectl.RunAsync("get", "--raw", "/metrics")).EnsureSuccess().Output;
        return metrics.Split('\n').Where(l => l.StartsWith("localcluster_client_requests_total{", StringComparison.Ordinal)
                && l.Contains("client=\"kubectl\"", StringComparison.Ordinal) && (l.Contains("verb=\"GET\"", StringComparison.Ordinal) || l.Contains("verb=\"LIST\"", StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
