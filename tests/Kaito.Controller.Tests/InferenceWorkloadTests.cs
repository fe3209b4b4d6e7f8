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

    private async Task<string> JsonPathAsync(string ns, string path) =>
        (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o", $"jsonpath={path}")).EnsureSuccess().Output;
}
