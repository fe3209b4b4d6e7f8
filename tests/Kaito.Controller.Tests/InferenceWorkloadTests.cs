using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>A served preset on a simulated cluster: ready, then why it is not when its pod cannot run.</summary>
public sealed class InferenceWorkloadTests(SimulatedClusterFixture fixture) : IClassFixture<SimulatedClusterFixture>
{
    private const string Workspace = "workspace-phi-4-mini";
    private readonly LocalClusterProcess _cluster = fixture.Cluster;

    [Fact]
    public async Task APodThatFitsNowhereTurnsInferenceReadyFalseWithTheSchedulersReason()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        (await _cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        await Eventually.ValueAsync(async () => await JsonPathAsync(ns, "{.status.state}") == "Ready" ? "ready" : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);

        // Someone edits the StatefulSet to ask for more GPUs than the node has: the rolled pod fits nowhere.
        (await _cluster.Kubectl.RunAsync("patch", "statefulset", Workspace, "-n", ns, "--type", "json", "-p",
            """
            [{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu","value":"8"},
             {"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/nvidia.com~1gpu","value":"8"}]
            """)).EnsureSuccess();

        var reason = await Eventually.ValueAsync(async () =>
            await JsonPathAsync(ns, "{.status.conditions[?(@.type==\"InferenceReady\")].reason}") is "Unschedulable" and var r ? r : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
        var message = await JsonPathAsync(ns, "{.status.conditions[?(@.type==\"InferenceReady\")].message}");

        Assert.Equal("Unschedulable", reason);
        Assert.StartsWith($"pod {Workspace}-0: 0/", message, StringComparison.Ordinal);
        Assert.Contains("nvidia.com/gpu", message, StringComparison.Ordinal);
        Assert.True(message.Length <= 256);
        Assert.Equal("NotReady", await JsonPathAsync(ns, "{.status.state}"));
    }

    [Fact]
    public async Task ALoadBalancerIsInternalAndNamedSecretsBecomeApiKeysAndTls()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        var yaml = File.ReadAllText(Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml")).Replace("metadata:\n", """
            metadata:
              annotations:
                kaito.sh/enablelb: "True"
                kaito.sh/api-keys-secret: serving-keys
                kaito.sh/tls-secret: serving-tls

            """, StringComparison.Ordinal);
        (await _cluster.Kubectl.RunAsync(["apply", "-n", ns, "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var service = await Eventually.ValueAsync(async () => (await _cluster.Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.FirstOrDefault(s => s.Metadata.Name == Workspace),
            context: () => fixture.Logs);
        var set = await Eventually.ValueAsync(async () => (await _cluster.Client.AppsV1.ListNamespacedStatefulSetAsync(ns)).Items.FirstOrDefault(), context: () => fixture.Logs);
        var pod = set.Spec.Template.Spec;
        var server = pod.Containers.Single();

        Assert.Equal("LoadBalancer", service.Spec.Type);
        Assert.Equal("true", service.Metadata.Annotations["service.beta.kubernetes.io/azure-load-balancer-internal"]);
        Assert.Equal("serving-keys", pod.Volumes.Single(v => v.Name == "api-keys").Secret.SecretName);
        Assert.Equal("serving-tls", pod.Volumes.Single(v => v.Name == "tls").Secret.SecretName);
        Assert.Contains("--api-keys-file", server.Args);
        Assert.Contains("--tls-cert-file", server.Args);
        Assert.Equal("HTTPS", server.ReadinessProbe.HttpGet.Scheme);
        PodSecurityAssert.Hardened(pod);
    }

    [Fact]
    public async Task ACustomPodTemplateIsServedAsWrittenAndRollsWhenEdited()
    {
        const string Custom = "workspace-custom-llm";
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        (await _cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf("examples", "inference", "kaito_workspace_custom_template.yaml"))).EnsureSuccess();
        await Eventually.ValueAsync(async () => await JsonPathAsync(ns, "{.status.state}", Custom) == "Ready" ? "ready" : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);

        var set = await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync(Custom, ns);
        var pod = set.Spec.Template;
        var container = Assert.Single(pod.Spec.Containers);
        var service = await _cluster.Client.CoreV1.ReadNamespacedServiceAsync(Custom, ns);
        Assert.Equal("ghcr.io/example/custom-llm-server:1.0.0", container.Image);
        Assert.Equal(["--model", "/models/custom", "--port", "5000"], container.Args);
        Assert.Equal("1", container.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal(new Dictionary<string, string> { ["team"] = "ml", ["kaito.sh/workspace"] = Custom }, pod.Metadata.Labels);
        Assert.Equal(["apps In custom-llm", $"kaito.sh/workspace In {Custom}", $"kaito.sh/workspacenamespace In {ns}"],
            pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single().MatchExpressions
                .Select(e => $"{e.Key} {e.OperatorProperty} {string.Join(",", e.Values)}"));
        Assert.Contains(pod.Spec.Tolerations, t => t.Key == "sku" && t.Value == "gpu");
        Assert.Equal(1, set.Spec.Replicas);
        Assert.Equal($"{Custom}-headless", set.Spec.ServiceName);
        Assert.Equal(80, service.Spec.Ports.Single().Port);
        Assert.Equal("True", await JsonPathAsync(ns, "{.status.conditions[?(@.type==\"InferenceReady\")].status}", Custom));
        Assert.Single((await _cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"kaito.sh/workspace={Custom}")).Items);

        // KAITO creates a template's StatefulSet once and never updates it; here an edited template rolls the pods.
        (await _cluster.Kubectl.RunAsync("patch", "wk", Custom, "-n", ns, "--type", "json", "-p",
            """[{"op":"replace","path":"/inference/template/spec/containers/0/args/1","value":"/models/custom-v2"}]""")).EnsureSuccess();
        var rolled = await Eventually.ValueAsync(async () =>
            (await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync(Custom, ns)) is var s && s.Spec.Template.Spec.Containers[0].Args.Contains("/models/custom-v2") ? s : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
        Assert.Equal("2", rolled.Metadata.Annotations["workspace.kaito.io/revision"]);
        await Eventually.ValueAsync(async () => await JsonPathAsync(ns, "{.status.state}", Custom) == "Ready"
            && (await _cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"kaito.sh/workspace={Custom}")).Items is [{ Status.Phase: "Running" } only]
            && only.Spec.Containers[0].Args.Contains("/models/custom-v2") ? "rolled" : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
    }

    private async Task<string> JsonPathAsync(string ns, string path, string workspace = Workspace) =>
        (await _cluster.Kubectl.RunAsync("get", "wk", workspace, "-n", ns, "-o", $"jsonpath={path}")).EnsureSuccess().Output;
}
