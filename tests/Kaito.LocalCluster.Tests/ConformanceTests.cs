using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kaito.LocalCluster.Tests;

/// <summary>API server semantics through KubernetesClient, a real client, over HTTPS: the bodies a client sees.</summary>
public sealed class ConformanceTests(LocalClusterFixture fixture) : IClassFixture<LocalClusterFixture>
{
    private readonly IKubernetes _client = fixture.Cluster.Client;

    [Fact]
    public async Task CreateAssignsIdentityAndAnExistingNameIsAlreadyExistsWithTheApiServersStatus()
    {
        var ns = await NamespaceAsync();
        var created = await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("settings"), ns);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("settings"), ns));

        Assert.True(Guid.TryParse(created.Metadata.Uid, out _));
        Assert.NotNull(created.Metadata.CreationTimestamp);
        Assert.Equal(ns, created.Metadata.NamespaceProperty);
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        AssertStatus(error, 409, "AlreadyExists", "configmaps \"settings\" already exists", """{"name":"settings","kind":"configmaps"}""");
    }

    [Fact]
    public async Task AStaleResourceVersionIsAConflictAndAFreshOneWins()
    {
        var ns = await NamespaceAsync();
        var first = await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("versioned"), ns);
        first.Data["k"] = "1";
        var second = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "versioned", ns);

        first.Data["k"] = "stale";
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "versioned", ns));

        Assert.True(long.Parse(second.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) >
                    long.Parse(first.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
        AssertStatus(error, 409, "Conflict",
            "Operation cannot be fulfilled on configmaps \"versioned\": the object has been modified; please apply your changes to the latest version and try again",
            """{"name":"versioned","kind":"configmaps"}""");
    }

    [Fact]
    public async Task APatchNamingAStaleResourceVersionIsAConflictAndOneWithoutItApplies()
    {
        var ns = await NamespaceAsync();
        var first = await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("guarded"), ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"1"}}""", V1Patch.PatchType.MergePatch), "guarded", ns);

        var stale = $$"""{"metadata":{"resourceVersion":"{{first.Metadata.ResourceVersion}}"},"data":{"k":"stale"} }""";
        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(stale, V1Patch.PatchType.MergePatch), "guarded", ns));
        var current = await _client.CoreV1.ReadNamespacedConfigMapAsync("guarded", ns);
        var fresh = $$"""{"metadata":{"resourceVersion":"{{current.Metadata.ResourceVersion}}"},"data":{"k":"2"} }""";
        var patched = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(fresh, V1Patch.PatchType.StrategicMergePatch), "guarded", ns);

        AssertStatus(error, 409, "Conflict",
            "Operation cannot be fulfilled on configmaps \"guarded\": the object has been modified; please apply your changes to the latest version and try again",
            """{"name":"guarded","kind":"configmaps"}""");
        Assert.Equal("1", current.Data["k"]);
        Assert.Equal("2", patched.Data["k"]);
    }

    [Fact]
    public async Task AMissingObjectIsNotFoundWithGroupAndKind()
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CustomObjects.GetNamespacedCustomObjectAsync("kaito.sh", "v1beta1", "default", "workspaces", "absent"));

        AssertStatus(error, 404, "NotFound", "workspaces.kaito.sh \"absent\" not found", """{"name":"absent","group":"kaito.sh","kind":"workspaces"}""");
    }

    [Fact]
    public async Task GenerationChangesWithTheSpecOnlyAndTheStatusSubresourceIsSeparate()
    {
        var ns = await NamespaceAsync();
        var created = await CreateWorkspaceAsync(ns, "gen");

        var labelled = await PatchAsync(ns, "gen", """{"metadata":{"labels":{"a":"b"}}}""");
        var statusThroughMain = await PatchAsync(ns, "gen", """{"status":{"state":"Ready"}}""");
        var specChanged = await PatchAsync(ns, "gen", """{"inference":{"config":"tuned"}}""");
        var statusPatched = (JsonElement)await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"state":"Ready"},"inference":{"config":"ignored"}}""", V1Patch.PatchType.MergePatch),
            "kaito.sh", "v1beta1", ns, "workspaces", "gen");

        Assert.Equal(1, Generation(created));
        Assert.Equal(1, Generation(labelled));
        Assert.False(statusThroughMain.TryGetProperty("status", out _));
        Assert.Equal(2, Generation(specChanged));
        Assert.Equal("Ready", statusPatched.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal("tuned", statusPatched.GetProperty("inference").GetProperty("config").GetString());
        Assert.Equal(2, Generation(statusPatched));
    }

    [Fact]
    public async Task AnUpdateThatChangesNothingDoesNotWrite()
    {
        var ns = await NamespaceAsync();
        var created = await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("same"), ns);

        var replaced = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "same", ns);

        Assert.Equal(created.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task FinalizersHoldADeletedObjectUntilTheyAreRemoved()
    {
        var ns = await NamespaceAsync();
        var map = ConfigMap("held");
        map.Metadata.Finalizers = ["example.com/hold"];
        await _client.CoreV1.CreateNamespacedConfigMapAsync(map, ns);

        await _client.CoreV1.DeleteNamespacedConfigMapAsync("held", ns);
        var deleting = await _client.CoreV1.ReadNamespacedConfigMapAsync("held", ns);
        deleting.Metadata.Finalizers = [];
        await _client.CoreV1.ReplaceNamespacedConfigMapAsync(deleting, "held", ns);

        Assert.NotNull(deleting.Metadata.DeletionTimestamp);
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedConfigMapAsync("held", ns));
        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
    }

    [Theory]
    [InlineData("Background", false)]
    [InlineData("Foreground", false)]
    [InlineData("Orphan", true)]
    public async Task DeletingAnOwnerCollectsOrReleasesItsDependents(string policy, bool dependentSurvives)
    {
        var ns = await NamespaceAsync();
        var owner = await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("owner"), ns);
        var dependent = ConfigMap("dependent");
        dependent.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid, BlockOwnerDeletion = true }];
        await _client.CoreV1.CreateNamespacedConfigMapAsync(dependent, ns);

        await _client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, new V1DeleteOptions { PropagationPolicy = policy });

        var remaining = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        Assert.Equal(dependentSurvives ? ["dependent"] : [], remaining.Items.Select(i => i.Metadata.Name));
        if (dependentSurvives)
        {
            Assert.Empty(remaining.Items[0].Metadata.OwnerReferences ?? []);
        }
    }

    [Fact]
    public async Task DeletingANamespaceDeletesWhatIsInIt()
    {
        var ns = await NamespaceAsync();
        await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("inside"), ns);
        await CreateWorkspaceAsync(ns, "inside");

        await _client.CoreV1.DeleteNamespaceAsync(ns);

        await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespaceAsync(ns));
        Assert.DoesNotContain((await _client.CoreV1.ListConfigMapForAllNamespacesAsync()).Items, i => i.Metadata.NamespaceProperty == ns);
    }

    [Fact]
    public async Task CreatingInAMissingNamespaceIsNotFound()
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("x"), "no-such-namespace"));

        AssertStatus(error, 404, "NotFound", "namespaces \"no-such-namespace\" not found", """{"name":"no-such-namespace","kind":"namespaces"}""");
    }

    [Fact]
    public async Task LabelAndFieldSelectorsFilterLists()
    {
        var ns = await NamespaceAsync();
        foreach (var (name, tier) in new[] { ("a", "gpu"), ("b", "cpu"), ("c", "gpu") })
        {
            var map = ConfigMap(name);
            map.Metadata.Labels = new Dictionary<string, string> { ["tier"] = tier, ["app"] = "kaito" };
            await _client.CoreV1.CreateNamespacedConfigMapAsync(map, ns);
        }

        Assert.Equal(["a", "c"], await NamesAsync(ns, labelSelector: "tier=gpu"));
        Assert.Equal(["b"], await NamesAsync(ns, labelSelector: "tier!=gpu,app"));
        Assert.Equal(["a", "b"], await NamesAsync(ns, labelSelector: "tier in (gpu,cpu),app=kaito", fieldSelector: "metadata.name!=c"));
        Assert.Equal(["c"], await NamesAsync(ns, fieldSelector: "metadata.name=c"));
        Assert.Empty(await NamesAsync(ns, labelSelector: "!app"));
    }

    [Fact]
    public async Task ListPagesWithLimitAndContinue()
    {
        var ns = await NamespaceAsync();
        foreach (var i in Enumerable.Range(0, 5))
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap($"page-{i}"), ns);
        }

        var first = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2);
        var second = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: first.Metadata.ContinueProperty);
        var third = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: second.Metadata.ContinueProperty);

        Assert.Equal(["page-0", "page-1", "page-2", "page-3", "page-4"],
            first.Items.Concat(second.Items).Concat(third.Items).Select(i => i.Metadata.Name));
        Assert.Null(third.Metadata.ContinueProperty);
    }

    [Fact]
    public async Task JsonMergeAndStrategicPatchesMergeAsTheApiServerDoes()
    {
        var ns = await NamespaceAsync();
        var map = ConfigMap("patched");
        map.Metadata.Finalizers = ["a/one"];
        await _client.CoreV1.CreateNamespacedConfigMapAsync(map, ns);

        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""[{"op":"add","path":"/data/j","value":"json"}]""", V1Patch.PatchType.JsonPatch), "patched", ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":null,"m":"merge"}}""", V1Patch.PatchType.MergePatch), "patched", ns);
        var result = await _client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"metadata":{"finalizers":["b/two"]}}""", V1Patch.PatchType.StrategicMergePatch), "patched", ns);

        Assert.Equal(new Dictionary<string, string> { ["j"] = "json", ["m"] = "merge" }, result.Data);
        Assert.Equal(["a/one", "b/two"], result.Metadata.Finalizers);
    }

    [Fact]
    public async Task DeleteCollectionDeletesOnlyWhatTheSelectorMatches()
    {
        var ns = await NamespaceAsync();
        foreach (var (name, tier) in new[] { ("a", "gpu"), ("b", "cpu"), ("c", "gpu") })
        {
            var map = ConfigMap(name);
            map.Metadata.Labels = new Dictionary<string, string> { ["tier"] = tier };
            await _client.CoreV1.CreateNamespacedConfigMapAsync(map, ns);
        }

        await _client.CoreV1.DeleteCollectionNamespacedConfigMapAsync(ns, labelSelector: "tier=gpu");

        Assert.Equal(["b"], await NamesAsync(ns));
    }

    [Fact]
    public async Task StrategicMergePatchMergesContainersAndEnvByNameAndReplacesTolerations()
    {
        var ns = await NamespaceAsync();
        var deployment = new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "smp" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "smp" } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "smp" } },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "server", Image = "server:1", Env = [new V1EnvVar { Name = "A", Value = "1" }],
                                Ports = [new V1ContainerPort { Name = "http", ContainerPort = 5000 }],
                            },
                            new V1Container { Name = "sidecar", Image = "sidecar:1" },
                        ],
                        Tolerations = [new V1Toleration { Key = "sku", OperatorProperty = "Equal", Value = "gpu", Effect = "NoSchedule" }],
                    },
                },
            },
        };
        await _client.AppsV1.CreateNamespacedDeploymentAsync(deployment, ns);

        var patched = await _client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""
            {"spec":{"template":{"spec":{
              "containers":[{"name":"server","image":"server:2","env":[{"name":"B","value":"2"}],"ports":[{"name":"metrics","containerPort":9090}]}],
              "tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]}}}}
            """, V1Patch.PatchType.StrategicMergePatch), "smp", ns);

        var containers = patched.Spec.Template.Spec.Containers;
        Assert.Equal(["server", "sidecar"], containers.Select(c => c.Name));
        Assert.Equal("server:2", containers[0].Image);
        Assert.Equal(["A", "B"], containers[0].Env.Select(e => e.Name));
        // A container's ports merge by containerPort (a Service's by port).
        Assert.Equal([5000, 9090], containers[0].Ports.Select(p => p.ContainerPort));
        // Tolerations have no merge key in the Go types: the patch's list replaces the old one, as on a real cluster.
        Assert.Equal(["nvidia.com/gpu"], patched.Spec.Template.Spec.Tolerations.Select(t => t.Key));
        Assert.Equal(2, patched.Metadata.Generation);
    }

    [Fact]
    public async Task ServerSideApplyCreatesThenUpdates()
    {
        var ns = await NamespaceAsync();
        var body = $$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied","namespace":"{{ns}}"},"data":{"a":"1"} }""";

        var created = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(body, V1Patch.PatchType.ApplyPatch), "applied", ns, fieldManager: "test", force: true);
        var updated = await _client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(body.Replace("\"1\"", "\"2\"", StringComparison.Ordinal), V1Patch.PatchType.ApplyPatch), "applied", ns, fieldManager: "test", force: true);

        Assert.Equal("1", created.Data["a"]);
        Assert.Equal("2", updated.Data["a"]);
    }

    [Fact]
    public async Task CustomResourcesAreDefaultedAndPrunedByTheirSchema()
    {
        var ns = await NamespaceAsync();
        var workspace = JsonNode.Parse("""
            {"apiVersion":"kaito.sh/v1alpha1","kind":"Workspace","metadata":{"name":"defaults"},
             "resource":{"labelSelector":{"matchLabels":{"a":"b"}},"colour":"red"},
             "inference":{"preset":{"name":"phi-4-mini-instruct"}}}
            """);

        var created = (JsonElement)await _client.CustomObjects.CreateNamespacedCustomObjectAsync(workspace, "kaito.sh", "v1alpha1", ns, "workspaces");

        var resource = created.GetProperty("resource");
        Assert.Equal("Standard_NC24ads_A100_v4", resource.GetProperty("instanceType").GetString());
        Assert.Equal(1, resource.GetProperty("count").GetInt32());
        Assert.False(resource.TryGetProperty("colour", out _));
    }

    [Fact]
    public async Task ASchemaViolationIsInvalid()
    {
        var ns = await NamespaceAsync();
        var workspace = JsonNode.Parse("""
            {"apiVersion":"kaito.sh/v1beta1","kind":"Workspace","metadata":{"name":"bad"},
             "resource":{"count":"two","labelSelector":{"matchLabels":{"a":"b"}}},"inference":{"preset":{"name":"x"}}}
            """);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CustomObjects.CreateNamespacedCustomObjectAsync(workspace, "kaito.sh", "v1beta1", ns, "workspaces"));

        Assert.Equal(422, (int)error.Response.StatusCode);
        Assert.Contains("resource.count in body must be of type integer", error.Response.Content, StringComparison.Ordinal);
    }

    private async Task<string> NamespaceAsync()
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    private async Task<JsonElement> CreateWorkspaceAsync(string ns, string name) =>
        (JsonElement)await _client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonNode.Parse($$"""
            {"apiVersion":"kaito.sh/v1beta1","kind":"Workspace","metadata":{"name":"{{name}}"},
             "resource":{"instanceType":"Standard_NC24ads_A100_v4","labelSelector":{"matchLabels":{"a":"b"} } },
             "inference":{"preset":{"name":"phi-4-mini-instruct"} } }
            """), "kaito.sh", "v1beta1", ns, "workspaces");

    private async Task<JsonElement> PatchAsync(string ns, string name, string mergePatch) =>
        (JsonElement)await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(mergePatch, V1Patch.PatchType.MergePatch), "kaito.sh", "v1beta1", ns, "workspaces", name);

    private async Task<List<string>> NamesAsync(string ns, string? labelSelector = null, string? fieldSelector = null) =>
        (await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: labelSelector, fieldSelector: fieldSelector)).Items.Select(i => i.Metadata.Name).ToList();

    private static long Generation(JsonElement item) => item.GetProperty("metadata").GetProperty("generation").GetInt64();

    private static V1ConfigMap ConfigMap(string name) =>
        new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["k"] = "v" } };

    private static void AssertStatus(HttpOperationException error, int code, string reason, string message, string details)
    {
        var expected = JsonNode.Parse($$"""
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":{{JsonSerializer.Serialize(message)}},"reason":"{{reason}}","details":{{details}},"code":{{code}} }
            """);
        Assert.Equal(code, (int)error.Response.StatusCode);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(error.Response.Content)), error.Response.Content);
    }
}
