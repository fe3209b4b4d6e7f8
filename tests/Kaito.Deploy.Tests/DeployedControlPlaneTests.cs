using System.Text.Json.Nodes;
using Kaito.Api.Catalog;
using Kaito.Deploy;
using Kaito.Testing;

namespace Kaito.Deploy.Tests;

/// <summary>
/// The generated install, applied to LocalCluster with kubectl: the server accepts it in a dry run, and applied for real
/// its controller and provisioner run from their images (pulled by LocalCluster's kubelet, in-cluster credentials from
/// their service accounts), serve the admission webhook through its Service and take a kaito-tiny workspace to Ready and
/// away again — no controller but the deployed one runs — under RBAC with exactly their generated roles: the audit log
/// shows no request refused, and every rule of those roles was the one rule that allowed some request, so removing
/// any of them would refuse a step.
/// </summary>
[Collection(ImagesGroup.Name)]
public sealed class DeployedControlPlaneTests(ImagesFixture images)
{
    private static readonly TimeSpan s_rollout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task TheGeneratedInstallRunsTheControlPlaneThatServesAWorkspace()
    {
        var audit = Path.Combine(images.DockerConfig, $"audit-{Guid.NewGuid():N}.log");
        await using var cluster = await LocalClusterProcess.StartAsync(
            "--system-node", "local-system",
            "--audit-log", audit,
            // the workload images the deployed controller names stand in as the local builds (their images are not built here)
            $"--LocalCluster:Kubelet:Components:kaito-inference-server={Repository.BuildOutput("Kaito.InferenceServer", "Kaito.InferenceServer.dll")}",
            $"--LocalCluster:Kubelet:Components:kaito-model-puller={KaitoTools.PullerPath}",
            "--LocalCluster:Kubelet:RestartBackOff=00:00:02");
        var kubectl = cluster.Kubectl;
        var registry = images.Registry.Address;

        // The tiny model as the preset's model image, in the same registry.
        Assert.True(ModelCatalog.Default.TryResolve("kaito-tiny", out var preset));
        var model = Path.Combine(images.DockerConfig, "tiny");
        var (code, output) = await KaitoTools.KubectlKaitoAsync("model", "tiny", model);
        Assert.True(code == 0, output);
        (code, output) = await KaitoTools.KubectlKaitoAsync("model", "push", model, $"{registry}/{preset.ImageRepository}:{preset.ImageTag}",
            "--docker-config", Path.Combine(images.DockerConfig, "config.json"));
        Assert.True(code == 0, output);

        var install = KaitoChart.RenderAll(new Dictionary<string, string>
        {
            ["image.registry"] = registry,
            ["image.pullSecret"] = "regcred",
            ["controller.modelRegistry"] = registry,
            ["provisioner.provider"] = "local",
            ["provisioner.createsNodes"] = "true",
        });
        (await kubectl.RunAsync("create", "namespace", KaitoChart.DefaultNamespace)).EnsureSuccess();
        foreach (var ns in new[] { KaitoChart.DefaultNamespace, "default" })
        {
            (await kubectl.RunAsync("create", "secret", "docker-registry", "regcred", "-n", ns, $"--docker-server={registry}",
                $"--docker-username={images.Registry.User}", $"--docker-password={images.Registry.Password}")).EnsureSuccess();
        }

        // The server's dry run takes every object and stores none.
        var dryRun = (await kubectl.RunAsync(["apply", "--dry-run=server", "--validate=strict", "-f", "-"], install, TimeSpan.FromMinutes(2))).EnsureSuccess().Output;
        Assert.Contains("deployment.apps/kaito-controller created (server dry run)", dryRun, StringComparison.Ordinal);
        Assert.Contains("clusterrole.rbac.authorization.k8s.io/kaito-provisioner created (server dry run)", dryRun, StringComparison.Ordinal);
        Assert.Equal("", (await kubectl.RunAsync("get", "deployments,crds", "-A", "-o", "name")).EnsureSuccess().Output.Trim());

        (await kubectl.RunAsync(["apply", "--server-side", "-f", "-"], install, TimeSpan.FromMinutes(2))).EnsureSuccess();
        foreach (var component in new[] { KaitoChart.ControllerName, KaitoChart.ProvisionerName })
        {
            await Eventually.ValueAsync(async () =>
            {
                var pods = JsonNode.Parse((await kubectl.RunAsync("get", "pods", "-n", KaitoChart.DefaultNamespace, "-l", $"app.kubernetes.io/name={component}", "-o", "json")).EnsureSuccess().Output)!["items"]!.AsArray();
                var ready = pods.Count(p => p!["status"]?["conditions"]?.AsArray().Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True") == true);
                return ready == (component == KaitoChart.ControllerName ? 2 : 1) ? "ready" : null;
            }, s_rollout, () => Describe(kubectl));
        }

        // From their images, pulled by the kubelet, with their accounts' in-cluster credentials.
        var controllerPod = JsonNode.Parse((await kubectl.RunAsync("get", "pods", "-n", KaitoChart.DefaultNamespace, "-l", $"app.kubernetes.io/name={KaitoChart.ControllerName}", "-o", "json")).Output)!["items"]![0]!;
        Assert.EndsWith(images.ControllerImage.Split('@')[1], (string?)controllerPod["status"]!["containerStatuses"]![0]!["imageID"], StringComparison.Ordinal);
        var leader = await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "lease", KaitoChart.ControllerName, "-n", KaitoChart.DefaultNamespace, "-o", "jsonpath={.spec.holderIdentity}")).Output is { Length: > 0 } holder ? holder : null,
            s_rollout, () => Describe(kubectl));
        Assert.StartsWith($"{KaitoChart.ControllerName}-", leader, StringComparison.Ordinal);

        // The webhook answers through its Service with the certificate the replicas share.
        var refused = await kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: no-such-model
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: nothing
            inference:
              preset:
                name: no-such-model
            """, TimeSpan.FromMinutes(1));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.True(refused.Error.Contains($"admission webhook \"{KaitoChart.WebhookConfiguration}\" denied the request", StringComparison.Ordinal), refused.Error);
        var certificate = (await kubectl.RunAsync("get", "secret", KaitoChart.WebhookCertificateSecret, "-n", KaitoChart.DefaultNamespace, "-o", "jsonpath={.data.tls\\.crt}")).EnsureSuccess().Output;
        Assert.NotEmpty(certificate);

        // A workspace through the deployed controller and provisioner: a NodeClaim, a (simulated) GPU node, the server Ready.
        (await kubectl.RunAsync(["apply", "-f", "-"], """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: workspace-tiny
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: tiny
            inference:
              preset:
                name: kaito-tiny
                presetOptions:
                  imagePullSecrets: [regcred]
            """, TimeSpan.FromMinutes(1))).EnsureSuccess();
        await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "workspace", "workspace-tiny", "-o", "jsonpath={.status.conditions[?(@.type==\"WorkspaceReady\")].status}")).Output == "True" ? "ready" : null,
            TimeSpan.FromMinutes(5), () => Describe(kubectl));
        Assert.Contains("workspace-tiny", (await kubectl.RunAsync("get", "nodeclaims", "-o", "jsonpath={.items[*].metadata.labels}")).EnsureSuccess().Output, StringComparison.Ordinal);
        // its server reachable from the cluster only (for network plugins that enforce it)
        Assert.Equal("5000", (await kubectl.RunAsync("get", "networkpolicy", "workspace-tiny", "-o", "jsonpath={.spec.ingress[0].ports[0].port}")).EnsureSuccess().Output);

        // And away: its claim, node and workload go with it.
        (await kubectl.RunAsync(["delete", "workspace", "workspace-tiny", "--wait=true", "--timeout=240s"], null, TimeSpan.FromMinutes(5))).EnsureSuccess();
        await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "nodeclaims,statefulsets,services", "-l", "kaito.sh/workspace=workspace-tiny", "-o", "name")).EnsureSuccess().Output.Trim().Length == 0
            && (await kubectl.RunAsync("get", "nodes", "-o", "name")).EnsureSuccess().Output.Trim() == "node/local-system" ? "gone" : null,
            s_rollout, () => Describe(kubectl));

        AssertLeastPrivilege(audit, install);
    }

    /// <summary>Nothing the control plane asked was refused, and each rule of its roles allowed something no other rule would have.</summary>
    private static void AssertLeastPrivilege(string auditLog, string install)
    {
        var accounts = new[] { KaitoChart.ControllerName, KaitoChart.ProvisionerName }.Select(a => $"system:serviceaccount:{KaitoChart.DefaultNamespace}:{a}").ToHashSet();
        var events = File.ReadAllLines(auditLog).Select(l => JsonNode.Parse(l)!).Where(e => accounts.Contains((string)e["user"]!["username"]!)).ToList();
        Assert.NotEmpty(events);
        var refused = events.Where(e => (string?)e["annotations"]!["authorization.k8s.io/decision"] == "forbid")
            .Select(e => $"{e["user"]!["username"]} {e["verb"]} {e["objectRef"]!["apiGroup"]}/{e["objectRef"]!["resource"]}/{e["objectRef"]!["subresource"]} {e["objectRef"]!["namespace"]}/{e["objectRef"]!["name"]}")
            .Distinct().ToList();
        Assert.True(refused.Count == 0, "refused: " + string.Join("; ", refused));

        // rules that alone allowed some request (any other rule allowing it too would make either removable)
        var soleRules = events.Where(e => (int?)e["annotations"]!["localcluster.kaito.sh/matching-rules"] == 1)
            .Select(e => (string)e["annotations"]!["localcluster.kaito.sh/rule"]!).ToHashSet();
        var generated = ChartTests.Documents(install)
            .Where(d => (string?)d["kind"] is "ClusterRole" or "Role" && ((string?)d["metadata"]!["name"])!.StartsWith("kaito-", StringComparison.Ordinal))
            .SelectMany(d => d["rules"]!.AsArray().Select((rule, i) => (Id: $"{d["kind"]}/{((string?)d["kind"] == "Role" ? KaitoChart.DefaultNamespace + "/" : "")}{d["metadata"]!["name"]}#{i}", Rule: rule!.ToJsonString())))
            .ToList();
        var unneeded = generated.Where(r => !soleRules.Contains(r.Id)).Select(r => $"{r.Id} {r.Rule}").ToList();
        Assert.True(unneeded.Count == 0, "rules no request needed alone in this lifecycle: " + string.Join("; ", unneeded));
    }

    private static string Describe(Kubectl kubectl)
    {
        string Run(params string[] arguments) => kubectl.RunAsync(arguments).GetAwaiter().GetResult() is var r ? r.Output + r.Error : "";
        return Run("get", "pods,workspaces,nodeclaims,nodes", "-A", "-o", "wide") + Run("describe", "pods", "-A")
            + Run("logs", "-n", KaitoChart.DefaultNamespace, "-l", $"app.kubernetes.io/name={KaitoChart.ControllerName}", "--tail", "60")
            + Run("logs", "-n", KaitoChart.DefaultNamespace, "-l", $"app.kubernetes.io/name={KaitoChart.ProvisionerName}", "--tail", "60");
    }
}
