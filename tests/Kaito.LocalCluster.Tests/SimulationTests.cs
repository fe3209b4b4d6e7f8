using k8s;
using k8s.Models;
using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>What LocalCluster's simulated kubelet, scheduler and workload controllers do, seen through the API.</summary>
public sealed class SimulationTests : IAsyncLifetime
{
    private LocalClusterProcess _cluster = null!;

    private IKubernetes Client => _cluster.Client;

    public async Task InitializeAsync() => _cluster = await LocalClusterProcess.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AGpuStatefulSetIsUnschedulableUntilAMatchingGpuNodeExistsThenRunsAndIsReady()
    {
        await Client.AppsV1.CreateNamespacedStatefulSetAsync(GpuStatefulSet("phi"), "default");

        var pending = await Eventually.ValueAsync(async () =>
        {
            var pod = await Client.CoreV1.ReadNamespacedPodAsync("phi-0", "default");
            return pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Reason == "Unschedulable");
        });
        await Client.CoreV1.CreateNodeAsync(CpuNode("cpu-1"));
        // The scheduler has tried the CPU node once its message counts it.
        var stillPending = await Eventually.ValueAsync(async () =>
            await Client.CoreV1.ReadNamespacedPodAsync("phi-0", "default") is var pod && pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Message?.StartsWith("0/1 nodes", StringComparison.Ordinal) == true) == true ? pod : null);
        await Client.CoreV1.CreateNodeAsync(GpuNode("gpu-1"));
        var set = await Eventually.ValueAsync(async () =>
        {
            var current = await Client.AppsV1.ReadNamespacedStatefulSetAsync("phi", "default");
            return current.Status?.ReadyReplicas == 1 ? current : null;
        });
        var pod = await Client.CoreV1.ReadNamespacedPodAsync("phi-0", "default");
        var events = await Client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=phi-0,reason=FailedScheduling");

        Assert.Equal("PodScheduled", pending.Type);
        Assert.Equal("False", pending.Status);
        Assert.Equal("0/0 nodes are available: no nodes available to schedule pods.", pending.Message);
        Assert.Null(stillPending.Spec.NodeName);
        Assert.Contains("1 node(s) didn't match Pod's node affinity/selector", stillPending.Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);
        Assert.Equal("gpu-1", pod.Spec.NodeName);
        Assert.Equal("Running", pod.Status.Phase);
        Assert.Equal("0", pod.Metadata.Labels["apps.kubernetes.io/pod-index"]);
        Assert.Equal("phi-0", pod.Metadata.Labels["statefulset.kubernetes.io/pod-name"]);
        Assert.Equal(1, set.Status.Replicas);
        Assert.NotEmpty(events.Items);
    }

    [Fact]
    public async Task AnUntoleratedTaintAndTooFewGpusKeepAPodPending()
    {
        await Client.CoreV1.CreateNodeAsync(GpuNode("gpu-1"));
        var set = GpuStatefulSet("greedy");
        set.Spec.Template.Spec.Tolerations = [];
        await Client.AppsV1.CreateNamespacedStatefulSetAsync(set, "default");
        var hungry = GpuStatefulSet("hungry");
        hungry.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"] = new ResourceQuantity("2");
        await Client.AppsV1.CreateNamespacedStatefulSetAsync(hungry, "default");

        var taint = await UnschedulableMessageAsync("greedy-0");
        var gpus = await UnschedulableMessageAsync("hungry-0");

        Assert.Equal("0/1 nodes are available: 1 node(s) had untolerated taint {sku: gpu}.", taint);
        Assert.Equal("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.", gpus);
    }

    [Fact]
    public async Task AJobSucceedsOrFailsAsTold()
    {
        await Client.CoreV1.CreateNodeAsync(CpuNode("cpu-1"));
        await Client.BatchV1.CreateNamespacedJobAsync(Job("works", outcome: null), "default");
        await Client.BatchV1.CreateNamespacedJobAsync(Job("breaks", outcome: "Failed"), "default");

        var works = await Eventually.ValueAsync(async () => (await Client.BatchV1.ReadNamespacedJobAsync("works", "default")) is { Status.Succeeded: 1 } j ? j : null);
        var breaks = await Eventually.ValueAsync(async () => (await Client.BatchV1.ReadNamespacedJobAsync("breaks", "default")) is { Status.Failed: 2 } j
            && j.Status.Conditions?.Any(c => c.Type == "Failed") == true ? j : null);
        var failedPod = (await Client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "job-name=breaks")).Items[0];

        Assert.Contains(works.Status.Conditions, c => c.Type == "Complete" && c.Status == "True");
        Assert.NotNull(works.Status.CompletionTime);
        Assert.Contains(breaks.Status.Conditions, c => c.Type == "Failed" && c.Reason == "BackoffLimitExceeded");
        Assert.Equal("out of memory", failedPod.Status.ContainerStatuses[0].State.Terminated.Message);

        // kubectl logs shows what the simulated kubelet did, ending with the termination message.
        var logs = (await _cluster.Kubectl.RunAsync("logs", failedPod.Metadata.Name, "-n", "default")).EnsureSuccess().Output;
        var tail = (await _cluster.Kubectl.RunAsync("logs", failedPod.Metadata.Name, "--tail=1", "--timestamps")).EnsureSuccess().Output;
        var wrong = await _cluster.Kubectl.RunAsync("logs", failedPod.Metadata.Name, "-c", "nope");
        Assert.Contains("[localcluster] container tuner exited with code 1 (Error)\nout of memory\n", logs, StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\S+ out of memory\n$", tail);
        Assert.Contains("container nope is not valid for pod", wrong.Error, StringComparison.Ordinal);

        // The API server's Job defaulting: a selector on the Job's uid, so kubectl finds this Job's pods and no other's.
        var byJob = (await _cluster.Kubectl.RunAsync("logs", "job/breaks")).EnsureSuccess().Output;
        Assert.Equal(breaks.Metadata.Uid, breaks.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"]);
        Assert.Contains("out of memory", byJob, StringComparison.Ordinal);
        Assert.DoesNotContain("Completed", (await _cluster.Kubectl.RunAsync("logs", "job/breaks")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APodFailurePolicyFailsTheJobAtOnceOnAMatchingExitCode()
    {
        await Client.CoreV1.CreateNodeAsync(CpuNode("cpu-policy"));
        var job = Job("bad-input", outcome: "Failed");
        job.Metadata.Annotations["localcluster.kaito.sh/exit-code"] = "2";
        job.Spec.BackoffLimit = 5;
        job.Spec.PodFailurePolicy = new V1PodFailurePolicy
        {
            Rules = [new V1PodFailurePolicyRule { Action = "FailJob", OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { OperatorProperty = "In", Values = [2, 3] } }],
        };
        await Client.BatchV1.CreateNamespacedJobAsync(job, "default");

        var failed = await Eventually.ValueAsync(async () => (await Client.BatchV1.ReadNamespacedJobAsync("bad-input", "default")) is var j
            && j.Status?.Conditions?.Any(c => c.Type == "Failed") == true ? j : null);

        Assert.Equal(1, failed.Status.Failed);
        var condition = failed.Status.Conditions.Single(c => c.Type == "Failed");
        Assert.Equal("PodFailurePolicy", condition.Reason);
        Assert.Matches("^Container tuner for pod default/bad-input-[a-z0-9]+ failed with exit code 2 matching FailJob rule at index 0$", condition.Message);
    }

    [Fact]
    public async Task AServiceGetsAClusterIpAndEndpointsForReadyPods()
    {
        await Client.CoreV1.CreateNodeAsync(CpuNode("cpu-1"));
        await Client.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1DeploymentSpec
            {
                Replicas = 2,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "web" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "web", Image = "web:1" }] },
                },
            },
        }, "default");
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "web" },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 5000 }],
            },
        }, "default");

        var endpoints = await Eventually.ValueAsync(async () =>
        {
            try
            {
                var current = await Client.CoreV1.ReadNamespacedEndpointsAsync("web", "default");
                return current.Subsets is [{ Addresses.Count: 2 }] ? current : null;
            }
            catch (k8s.Autorest.HttpOperationException)
            {
                return null;
            }
        });
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", "default");
        var deployment = await Client.AppsV1.ReadNamespacedDeploymentAsync("web", "default");

        Assert.StartsWith("127.96.", service.Spec.ClusterIP, StringComparison.Ordinal);
        Assert.Equal(5000, endpoints.Subsets[0].Ports[0].Port);
        Assert.Equal(2, deployment.Status.ReadyReplicas);
        Assert.All(endpoints.Subsets[0].Addresses, a => Assert.StartsWith("127.244.", a.Ip, StringComparison.Ordinal));
        Assert.Equal(2, endpoints.Subsets[0].Addresses.Select(a => a.Ip).Distinct().Count());
        var node = await Client.CoreV1.ReadNodeAsync("cpu-1");
        Assert.Contains(node.Status.Addresses, a => a is { Type: "InternalIP", Address: "127.0.0.1" });
    }

    [Fact]
    public async Task ALoadBalancerServiceIsReachedOnLoopbackAtItsNodePort()
    {
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "public" },
            Spec = new V1ServiceSpec
            {
                Type = "LoadBalancer",
                Selector = new Dictionary<string, string> { ["app"] = "public" },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 5000 }, new V1ServicePort { Name = "metrics", Port = 9090 }],
            },
        }, "default");

        var service = await Eventually.ValueAsync(async () =>
        {
            var current = await Client.CoreV1.ReadNamespacedServiceAsync("public", "default");
            return current.Status?.LoadBalancer?.Ingress is { Count: 1 } ? current : null;
        });

        Assert.StartsWith("127.96.", service.Spec.ClusterIP, StringComparison.Ordinal);
        Assert.All(service.Spec.Ports, p => Assert.InRange(p.NodePort ?? 0, 30000, 32767));
        Assert.NotEqual(service.Spec.Ports[0].NodePort, service.Spec.Ports[1].NodePort);
        Assert.Equal("127.0.0.1", service.Status.LoadBalancer.Ingress[0].Ip);
        Assert.Equal(service.Spec.Ports.Select(p => p.NodePort), service.Status.LoadBalancer.Ingress[0].Ports.Select(p => (int?)p.Port));
    }

    private async Task<string> UnschedulableMessageAsync(string pod) =>
        (await Eventually.ValueAsync(async () => (await Client.CoreV1.ReadNamespacedPodAsync(pod, "default"))
            .Status?.Conditions?.FirstOrDefault(c => c.Reason == "Unschedulable" && c.Message.Contains("1 nodes", StringComparison.Ordinal)))).Message;

    private static V1StatefulSet GpuStatefulSet(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1StatefulSetSpec
        {
            Replicas = 1,
            ServiceName = $"{name}-headless",
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec
                {
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "model",
                            Image = "inference:1",
                            Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["nvidia.com/gpu"] = new("1") } },
                        },
                    ],
                    Tolerations = [new V1Toleration { Key = "sku", OperatorProperty = "Equal", Value = "gpu", Effect = "NoSchedule" }],
                    Affinity = new V1Affinity
                    {
                        NodeAffinity = new V1NodeAffinity
                        {
                            RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                            {
                                NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = "apps", OperatorProperty = "In", Values = ["phi"] }] }],
                            },
                        },
                    },
                },
            },
        },
    };

    private static V1Node GpuNode(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["apps"] = "phi", ["node.kubernetes.io/instance-type"] = "Standard_NC24ads_A100_v4" } },
        Spec = new V1NodeSpec { Taints = [new V1Taint { Key = "sku", Value = "gpu", Effect = "NoSchedule" }] },
        Status = new V1NodeStatus { Capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("24"), ["memory"] = new("220Gi"), ["nvidia.com/gpu"] = new("1") } },
    };

    private static V1Node CpuNode(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new V1NodeStatus { Capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("4"), ["memory"] = new("16Gi") } },
    };

    private static V1Job Job(string name, string? outcome) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Annotations = outcome is null ? null : new Dictionary<string, string>
            {
                ["localcluster.kaito.sh/outcome"] = outcome,
                ["localcluster.kaito.sh/message"] = "out of memory",
            },
        },
        Spec = new V1JobSpec
        {
            BackoffLimit = 1,
            Template = new V1PodTemplateSpec { Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "tuner", Image = "tuner:1" }] } },
        },
    };
}
