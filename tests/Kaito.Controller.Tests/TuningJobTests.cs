using k8s;
using k8s.Models;
using Kaito.Controller.Workspaces;
using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>The brief's tuning workspace, verbatim, on a simulated cluster: the Job, its inputs and outputs, its outcome.</summary>
public sealed class TuningJobTests(SimulatedClusterFixture fixture) : IClassFixture<SimulatedClusterFixture>
{
    private const string Workspace = "workspace-tuning-phi-3";
    private const string BriefUrl = "https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/data/train-00000-of-00001-54e3756291ca09c6.parquet?download=true";
    private readonly LocalClusterProcess _cluster = fixture.Cluster;

    [Fact]
    public async Task TheBriefsTuningWorkspaceRunsAJobWiredToItsUrlQloraConfigOutputImageAndPushSecretThenSucceeds()
    {
        var ns = await ApplyBriefAsync();

        var job = await Eventually.ValueAsync(async () => await JobAsync(ns), context: () => fixture.Logs);
        var pod = job.Spec.Template.Spec;
        var tuner = pod.Containers.Single();
        var downloader = pod.InitContainers.Single(c => c.Name == "data-downloader");
        var config = await _cluster.Client.CoreV1.ReadNamespacedConfigMapAsync("qlora-params-template", ns);

        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Equal(Workspace, job.Metadata.Labels["kaito.sh/workspace"]);
        Assert.Equal("1", job.Metadata.Annotations["workspace.kaito.io/revision"]);
        Assert.True(job.Metadata.OwnerReferences.Single().Controller);
        Assert.Equal(["download", "--data-urls", BriefUrl, "--data", "/mnt/data"], downloader.Args);
        Assert.Equal(tuner.Image, downloader.Image);
        Assert.Equal("/mnt/data", downloader.VolumeMounts.Single().MountPath);
        Assert.Equal(7 * 24 * 3600, job.Spec.ActiveDeadlineSeconds);
        Assert.Contains("load_in_4bit: true", config.Data["training_config.yaml"], StringComparison.Ordinal);
        Assert.Equal("qlora-params-template", pod.Volumes.Single(v => v.Name == "config-volume").ConfigMap.Name);
        Assert.Equal(
            ["--config", "/mnt/config/training_config.yaml", "--data", "/mnt/data", "--model", "/workspace/weights", "--output", "/mnt/results",
             "--output-image", "ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1", "--docker-config", "/root/.docker/config.json"],
            tuner.Args);
        Assert.Equal("ACR_REGISTRY_SECRET_HERE", pod.Volumes.Single(v => v.Name == "docker-config").Secret.SecretName);
        Assert.Equal("/root/.docker", tuner.VolumeMounts.Single(m => m.Name == "docker-config").MountPath);
        Assert.Equal("/mnt/results", tuner.VolumeMounts.Single(m => m.Name == "results-volume").MountPath);
        Assert.Contains(pod.ImagePullSecrets, s => s.Name == "ACR_REGISTRY_SECRET_HERE");
        Assert.Equal("1", tuner.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal([2, 3], job.Spec.PodFailurePolicy.Rules.Single().OnExitCodes.Values);
        Assert.Contains(pod.Tolerations, t => t.Key == "sku" && t.Value == "gpu");
        PodSecurityAssert.Hardened(pod);

        await UntilStateAsync(ns, "Running");
        var running = await ConditionAsync(ns, "JobStarted");
        await UntilStateAsync(ns, "Succeeded");
        Assert.Equal(("True", "WorkspaceTuningJobStatusStarted"), running);
        Assert.Equal(("True", "workspaceSucceeded"), await ConditionAsync(ns, "WorkspaceSucceeded"));

        // Then, unlike KAITO, the workspace serves what it produced at its own Service: the base model with the pushed
        // adapter (pulled with the push secret), which requests naming no model — the brief's /chat — get.
        await Eventually.ValueAsync(async () => await ConditionAsync(ns, "WorkspaceReady") is ("True", _) ? "ready" : null,
            timeout: TimeSpan.FromSeconds(90), context: () => fixture.Logs);
        var set = await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync(Workspace, ns);
        var serving = set.Spec.Template.Spec;
        var server = serving.Containers.Single();
        var adapterPuller = serving.InitContainers.Single(c => c.Name == $"puller-{Workspace}");
        var service = await _cluster.Client.CoreV1.ReadNamespacedServiceAsync(Workspace, ns);
        var row = (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "--no-headers")).EnsureSuccess().Output;

        Assert.Equal(("True", "WorkspaceInferenceStatusSuccess"), await ConditionAsync(ns, "InferenceReady"));
        Assert.Equal(("True", "workspaceSucceeded"), await ConditionAsync(ns, "WorkspaceReady"));
        Assert.Equal("ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1", adapterPuller.Args[1]);
        Assert.Contains(adapterPuller.VolumeMounts, m => m.MountPath == $"{ImagePuller.SecretsPath}/ACR_REGISTRY_SECRET_HERE");
        Assert.Contains(serving.InitContainers, c => c.Name == ModelWeights.ContainerName);
        Assert.Equal(["--served-model-name", "phi-3-mini-128k-instruct"], server.Args.SkipWhile(a => a != "--served-model-name").Take(2));
        Assert.Equal(["--default-model", Workspace], server.Args.SkipWhile(a => a != "--default-model").Take(2));
        Assert.Equal("1", server.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal(80, service.Spec.Ports.Single().Port);
        Assert.Matches(@"^workspace-tuning-phi-3\s+Standard_NC6s_v3\s+True\s+True\s+True\s+True\s+", row);
        PodSecurityAssert.Hardened(serving);
        var events = await Eventually.ValueAsync(async () => await EventsAsync(ns) is var e && e.Contains("TuningJobSucceeded", StringComparison.Ordinal) ? e : null,
            context: () => fixture.Logs);
        Assert.Contains("Normal NodeClaimCreated", events, StringComparison.Ordinal);
        Assert.Contains("Normal TuningJobCreated Job workspace-tuning-phi-3 created to tune phi-3-mini-128k-instruct with qlora", events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedTuningJobFailsTheWorkspaceWithTheTunersReason()
    {
        var ns = await ApplyBriefAsync();
        await Eventually.ValueAsync(async () => await JobAsync(ns), context: () => fixture.Logs);
        // The simulated kubelet fails this Job's pod as the tuner does on bad input: exit code 2 and its one-line cause as
        // the termination message. The Job's podFailurePolicy fails it at once instead of retrying.
        (await _cluster.Kubectl.RunAsync("annotate", "job", Workspace, "-n", ns, "localcluster.kaito.sh/outcome=Failed",
            "localcluster.kaito.sh/exit-code=2", "localcluster.kaito.sh/message=no dataset file in /mnt/data: found notes.txt")).EnsureSuccess();

        await UntilStateAsync(ns, "Failed");
        const string Expected = "The tuning job failed (PodFailurePolicy): container workspace-tuning-phi-3 exited with code 2: no dataset file in /mnt/data: found notes.txt";

        // The pod cache may trail the Job's by a moment: the tuner's cause replaces the Job's message when the pod arrives.
        var (status, reason, message) = await Eventually.ValueAsync(async () =>
            await ConditionDetailAsync(ns, "WorkspaceSucceeded") is var detail && detail.Message == Expected ? detail.ToTuple() : null, context: () => fixture.Logs);
        Assert.Equal(("False", "workspaceFailed"), (status, reason));
        Assert.Equal(Expected, message);
        Assert.Equal(1, (await JobAsync(ns))!.Status.Failed);
        var events = await Eventually.ValueAsync(async () => await EventsAsync(ns) is var e && e.Contains("TuningJobFailed", StringComparison.Ordinal) ? e : null,
            context: () => fixture.Logs);
        Assert.Contains("Warning TuningJobFailed The tuning job failed (PodFailurePolicy)", events, StringComparison.Ordinal);
        Assert.Equal(("False", "WorkspaceTuningJobStatusFailed"), await ConditionAsync(ns, "JobStarted"));
    }

    [Fact]
    public async Task WithServeTuningOutputFalseAFinishedWorkspaceServesNothingAsKaitos()
    {
        var ns = await ApplyBriefAsync();
        (await _cluster.Kubectl.RunAsync("annotate", "wk", Workspace, "-n", ns, "kaito.sh/serve-tuning-output=false")).EnsureSuccess();

        await UntilStateAsync(ns, "Succeeded");
        await Eventually.ValueAsync(async () => await ConditionAsync(ns, "WorkspaceReady") is ("True", _) ? "ready" : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);

        Assert.Empty((await _cluster.Client.AppsV1.ListNamespacedStatefulSetAsync(ns)).Items);
        Assert.Empty((await _cluster.Client.CoreV1.ListNamespacedServiceAsync(ns)).Items);
        Assert.Equal("", (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o", "jsonpath={.status.conditions[?(@.type==\"InferenceReady\")].status}")).Output);
    }

    [Fact]
    public async Task ChangingTheTuningInputReplacesTheJob()
    {
        var ns = await ApplyBriefAsync();
        var first = await Eventually.ValueAsync(async () => await JobAsync(ns), context: () => fixture.Logs);

        (await _cluster.Kubectl.RunAsync("patch", "wk", Workspace, "-n", ns, "--type", "merge", "-p",
            """{"tuning":{"input":{"urls":["https://example.com/data/train.jsonl"]}}}""")).EnsureSuccess();

        var second = await Eventually.ValueAsync(async () => await JobAsync(ns) is { } job && job.Metadata.Uid != first.Metadata.Uid ? job : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
        Assert.Equal("2", second.Metadata.Annotations["workspace.kaito.io/revision"]);
        var revisions = (await _cluster.Client.AppsV1.ListNamespacedControllerRevisionAsync(ns, labelSelector: $"workspace.kaito.io/name={Workspace}")).Items
            .OrderBy(r => r.Revision).ToList();
        var hash = (string)(await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o", "jsonpath={.metadata.annotations.workspace\\.kaito\\.io/hash}")).EnsureSuccess().Output;
        Assert.Equal([1L, 2L], revisions.Select(r => r.Revision));
        Assert.Equal($"{Workspace}-{hash[..5]}", revisions[1].Metadata.Name);
        Assert.Equal(hash, revisions[1].Metadata.Annotations["workspace.kaito.io/hash"]);
        Assert.Contains("https://example.com/data/train.jsonl", System.Text.Json.JsonSerializer.Serialize(revisions[1].Data), StringComparison.Ordinal);
        Assert.True(revisions[1].Metadata.OwnerReferences.Single().Controller);
        Assert.Equal("https://example.com/data/train.jsonl",
            second.Spec.Template.Spec.InitContainers.Single(c => c.Name == "data-downloader").Args[2]);

        // The new revision serves again once its job has succeeded; while it trains, nothing serves (the GPU is the job's).
        await Eventually.ValueAsync(async () => await ConditionAsync(ns, "WorkspaceReady") is ("True", _) ? "ready" : null,
            timeout: TimeSpan.FromSeconds(90), context: () => fixture.Logs);
        var set = await _cluster.Client.AppsV1.ReadNamespacedStatefulSetAsync(Workspace, ns);
        Assert.Equal("2", set.Metadata.Annotations["workspace.kaito.io/revision"]);
        Assert.True(set.Metadata.CreationTimestamp >= (await JobAsync(ns))!.Status.CompletionTime);
    }

    [Theory]
    [InlineData("image")]
    [InlineData("volume")]
    public async Task DataFromAnImageOrAVolumeAndResultsToAVolumeAreWiredIntoTheJob(string input)
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        var source = input == "image"
            ? "image: myregistry.azurecr.io/datasets/dolly:1\n    imagePullSecrets: [data-pull]"
            : "volumeSource:\n      persistentVolumeClaim:\n        claimName: training-data";
        var yaml = $"""
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: {Workspace}
            resource:
              instanceType: Standard_NC6s_v3
              labelSelector:
                matchLabels:
                  app: tuning-phi-3
            tuning:
              preset:
                name: phi-3-mini-128k-instruct
              method: lora
              input:
                {source}
              output:
                volumeSource:
                  persistentVolumeClaim:
                    claimName: adapters-out
            """;
        (await _cluster.Kubectl.RunAsync(["apply", "-n", ns, "-f", "-"], yaml, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var job = await Eventually.ValueAsync(async () => await JobAsync(ns), timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);
        var pod = job.Spec.Template.Spec;
        var tuner = pod.Containers.Single();

        Assert.Equal("adapters-out", pod.Volumes.Single(v => v.Name == "results-volume").PersistentVolumeClaim.ClaimName);
        Assert.Equal("/mnt/results", tuner.VolumeMounts.Single(m => m.Name == "results-volume").MountPath);
        Assert.DoesNotContain("--output-image", tuner.Args);
        Assert.Equal("lora-params-template", pod.Volumes.Single(v => v.Name == "config-volume").ConfigMap.Name);
        Assert.DoesNotContain(pod.InitContainers, c => c.Name == "data-downloader");
        if (input == "image")
        {
            var puller = pod.InitContainers.Single(c => c.Name == "data-puller");
            Assert.Equal("myregistry.azurecr.io/datasets/dolly:1", puller.Args[1]);
            Assert.Equal(["--layout", "image-data"], puller.Args.Skip(4).Take(2));
            Assert.Contains(puller.VolumeMounts, m => m.MountPath == $"{ImagePuller.SecretsPath}/data-pull");
            Assert.Contains(pod.ImagePullSecrets, s => s.Name == "data-pull");
            Assert.NotNull(pod.Volumes.Single(v => v.Name == "data-volume").EmptyDir);
        }
        else
        {
            Assert.DoesNotContain(pod.InitContainers, c => c.Name == "data-puller");
            Assert.Equal("training-data", pod.Volumes.Single(v => v.Name == "data-volume").PersistentVolumeClaim.ClaimName);
        }
    }

    private async Task<string> ApplyBriefAsync()
    {
        var ns = $"t-{Guid.NewGuid():N}"[..14];
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        (await _cluster.Kubectl.RunAsync("apply", "-n", ns, "-f", Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_phi_3.yaml"))).EnsureSuccess();
        return ns;
    }

    /// <summary>The workspace's events as kubectl describe finds them (by involved object), one "type reason message" per line.</summary>
    private async Task<string> EventsAsync(string ns) =>
        (await _cluster.Kubectl.RunAsync("get", "events", "-n", ns, "--field-selector", $"involvedObject.name={Workspace},involvedObject.kind=Workspace",
            "-o", "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}")).EnsureSuccess().Output;

    private async Task<V1Job?> JobAsync(string ns)
    {
        var jobs = await _cluster.Client.BatchV1.ListNamespacedJobAsync(ns);
        return jobs.Items.SingleOrDefault(j => j.Metadata.Name == Workspace && j.Metadata.DeletionTimestamp is null);
    }

    private Task<string> UntilStateAsync(string ns, string state) =>
        Eventually.ValueAsync(async () =>
            (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o", "jsonpath={.status.state}")).Output == state ? state : null,
            timeout: TimeSpan.FromSeconds(60), context: () => fixture.Logs);

    private async Task<(string Status, string Reason)> ConditionAsync(string ns, string type)
    {
        var (status, reason, _) = await ConditionDetailAsync(ns, type);
        return (status, reason);
    }

    private async Task<(string Status, string Reason, string Message)> ConditionDetailAsync(string ns, string type)
    {
        var output = (await _cluster.Kubectl.RunAsync("get", "wk", Workspace, "-n", ns, "-o",
            $"jsonpath={{.status.conditions[?(@.type==\"{type}\")].status}}|{{.status.conditions[?(@.type==\"{type}\")].reason}}|{{.status.conditions[?(@.type==\"{type}\")].message}}")).EnsureSuccess().Output;
        var parts = output.Split('|', 3);
        return (parts[0], parts[1], parts[2]);
    }
}
