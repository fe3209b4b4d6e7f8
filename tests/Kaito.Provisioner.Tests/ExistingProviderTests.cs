using k8s;
using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Testing;

namespace Kaito.Provisioner.Tests;

/// <summary>The existing provider: claims bind to pre-made GPU nodes in LocalCluster and release them as they found them.</summary>
public sealed class ExistingProviderTests : IAsyncLifetime
{
    private LocalClusterProcess _cluster = null!;
    private ServiceProcess _provisioner = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartAsync();
        (await _cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        _provisioner = ServiceProcess.Start("Kaito.Provisioner", Path.GetTempPath(),
            ["--kubeconfig", _cluster.Kubeconfig, "--provider", "existing", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);
    }

    public async Task DisposeAsync()
    {
        await _provisioner.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task AClaimBindsToAPreMadeGpuNodeAndReleasingItRestoresTheNode()
    {
        await _cluster.Client.CoreV1.CreateNodeAsync(Node("cpu-only", "Standard_D4s_v5", gpus: 0));
        await _cluster.Client.CoreV1.CreateNodeAsync(Node("kind-gpu", "Standard_NC24ads_A100_v4", gpus: 1));
        await CreateClaimAsync("wsexist0001");

        var claim = await UntilAsync(async () => await ClaimAsync("wsexist0001") is { } c && Condition(c, "Ready") == "True" ? c : null);
        var bound = await _cluster.Client.CoreV1.ReadNodeAsync("kind-gpu");

        Assert.Equal("kind-gpu", claim.Status!.NodeName);
        Assert.Equal("kaito-existing:///kind-gpu", claim.Status.ProviderId);
        Assert.Equal("workspace-phi-4-mini", bound.Metadata.Labels["kaito.sh/workspace"]);
        Assert.Equal("team-ml", bound.Metadata.Labels["owner"]);
        Assert.Equal("wsexist0001", bound.Metadata.Annotations["kaito.sh/nodeclaim"]);
        Assert.Contains(bound.Spec.Taints, t => t.Key == "sku" && t.Value == "gpu" && t.Effect == "NoSchedule");
        Assert.Contains(bound.Spec.Taints, t => t.Key == "dedicated");

        (await _cluster.Kubectl.RunAsync("delete", "nodeclaim", "wsexist0001", "--timeout=60s")).EnsureSuccess();
        var released = await _cluster.Client.CoreV1.ReadNodeAsync("kind-gpu");

        Assert.False(released.Metadata.Labels.ContainsKey("kaito.sh/workspace"));
        Assert.Equal("team-ml", released.Metadata.Labels["owner"]);
        Assert.False(released.Metadata.Annotations?.ContainsKey("kaito.sh/nodeclaim") ?? false);
        Assert.Equal(["dedicated"], released.Spec.Taints.Select(t => t.Key));
    }

    [Fact]
    public async Task AClaimWaitsWhileNoNodeFitsAndBindsOnceOneAppears()
    {
        await CreateClaimAsync("wsexist0002");

        var waiting = await UntilAsync(async () => await ClaimAsync("wsexist0002") is { } c && Condition(c, "Launched") == "False" ? c : null);
        await _cluster.Client.CoreV1.CreateNodeAsync(Node("late-gpu", "Standard_NC24ads_A100_v4", gpus: 1));
        var bound = await UntilAsync(async () => await ClaimAsync("wsexist0002") is { } c && Condition(c, "Ready") == "True" ? c : null);

        Assert.Equal("NoMatchingNode", waiting.Status!.Conditions!.Single(c => c.Type == "Launched").Reason);
        Assert.Equal("late-gpu", bound.Status!.NodeName);
    }

    private static V1Node Node(string name, string instanceType, int gpus)
    {
        var capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("24"), ["memory"] = new("220Gi"), ["pods"] = new("110") };
        if (gpus > 0)
        {
            capacity["nvidia.com/gpu"] = new(gpus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["node.kubernetes.io/instance-type"] = instanceType, ["owner"] = "team-ml" } },
            Spec = new V1NodeSpec { Taints = [new V1Taint { Key = "dedicated", Value = "ml", Effect = "NoSchedule" }] },
            Status = new V1NodeStatus { Capacity = capacity, Allocatable = capacity, Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }] },
        };
    }

    private async Task CreateClaimAsync(string name)
    {
        var yaml = $"""
            apiVersion: karpenter.sh/v1
            kind: NodeClaim
            metadata:
              name: {name}
              labels:
                karpenter.sh/nodepool: kaito
                kaito.sh/workspace: workspace-phi-4-mini
                kaito.sh/workspacenamespace: default
                owner: someone-else
            spec:
              nodeClassRef: {"{"}group: kaito.sh, kind: KaitoNodeClass, name: default{"}"}
              taints: [{"{"}key: sku, value: gpu, effect: NoSchedule{"}"}]
              requirements:
              - {"{"}key: node.kubernetes.io/instance-type, operator: In, values: [Standard_NC24ads_A100_v4]{"}"}
              - {"{"}key: kubernetes.io/os, operator: In, values: [linux]{"}"}
              resources: {"{"}requests: {"{"}storage: 87Gi{"}"}{"}"}
            """;
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], yaml, TimeSpan.FromSeconds(30))).EnsureSuccess();
    }

    private Task<NodeClaim?> ClaimAsync(string name) => NodeClaimProbes.GetAsync(_cluster.Kubectl, name);

    private static string? Condition(NodeClaim claim, string type) => NodeClaimProbes.Condition(claim, type);

    private Task<T> UntilAsync<T>(Func<Task<T?>> probe)
        where T : class => Eventually.ValueAsync(probe, TimeSpan.FromSeconds(60), () => $"provisioner log:\n{_provisioner.Log}");
}
