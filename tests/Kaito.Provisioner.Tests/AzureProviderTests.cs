using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Testing;

namespace Kaito.Provisioner.Tests;

/// <summary>
/// The azure provider against the ARM contract server and LocalCluster, authenticating with Azure.Identity's
/// workload identity (a federated token file exchanged at the server's token endpoint).
/// </summary>
public sealed class AzureProviderTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kaito-azure-").FullName;
    private LocalClusterProcess _cluster = null!;
    private ArmContractServer _arm = null!;
    private ServiceProcess _provisioner = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalClusterProcess.StartAsync();
        (await _cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        _arm = await ArmContractServer.StartAsync(_cluster.Client, _folder);
        await File.WriteAllTextAsync(Path.Combine(_folder, "azure-identity-token"), _arm.Assertion);
        _provisioner = StartProvisioner();
    }

    public async Task DisposeAsync()
    {
        await _provisioner.DisposeAsync();
        await _arm.DisposeAsync();
        await _cluster.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AClaimGetsExactlyOnePoolAsSpecifiedAndIsReadyWhenItsNodeRegistersThenDeleteRemovesBoth()
    {
        await CreateClaimAsync("wsa1b2c3d4e", "Standard_NC24ads_A100_v4", imageFamily: "azurelinux");

        var claim = await UntilAsync(async () => await ClaimAsync("wsa1b2c3d4e") is { } c && Condition(c, "Ready") == "True" ? c : null);
        var puts = _arm.Requests.Where(r => r.Method == "PUT").ToList();
        var body = JsonNode.Parse(Assert.Single(puts).Body!)!["properties"]!;

        Assert.EndsWith($"/subscriptions/{ArmContractServer.Subscription}/resourceGroups/{ArmContractServer.ResourceGroup}/providers/Microsoft.ContainerService/managedClusters/{ArmContractServer.Cluster}/agentPools/wsa1b2c3d4e",
            puts[0].Path, StringComparison.Ordinal);
        Assert.Equal("Standard_NC24ads_A100_v4", (string?)body["vmSize"]);
        Assert.Equal(1, (int)body["count"]!);
        Assert.Equal(87, (int)body["osDiskSizeGB"]!);
        Assert.Equal("AzureLinux", (string?)body["osSKU"]);
        Assert.Equal(["sku=gpu:NoSchedule"], body["nodeTaints"]!.AsArray().Select(t => (string?)t));
        var labels = body["nodeLabels"]!.AsObject();
        Assert.Equal("kaito", (string?)labels["karpenter.sh/nodepool"]);
        Assert.Equal("gpu", (string?)labels["kaito.sh/machine-type"]);
        Assert.Equal("workspace-phi-4-mini", (string?)labels["kaito.sh/workspace"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$", (string?)labels["kaito.sh/creation-timestamp"]);
        Assert.Equal(ArmContractServer.NodeName("wsa1b2c3d4e"), claim.Status!.NodeName);
        Assert.StartsWith("azure:///subscriptions/", claim.Status.ProviderId, StringComparison.Ordinal);
        Assert.Equal("1", claim.Status.Capacity!["nvidia.com/gpu"].ToString());
        Assert.Equal(1, _arm.TokensIssued);
        Assert.DoesNotContain(_arm.Requests, r => r.Status == 401);

        (await _cluster.Kubectl.RunAsync("delete", "nodeclaim", "wsa1b2c3d4e", "--timeout=60s")).EnsureSuccess();

        Assert.Empty(_arm.PoolNames);
        Assert.Single(_arm.Requests, r => r.Method == "DELETE");
        Assert.DoesNotContain((await _cluster.Client.CoreV1.ListNodeAsync()).Items, n => n.Metadata.Name == ArmContractServer.NodeName("wsa1b2c3d4e"));
    }

    [Theory]
    [InlineData("Standard_ND96asr_v4", 409, "QuotaExceeded",
        "Operation could not be completed as it results in exceeding approved standardNDASv4_A100Family Cores quota. Current Limit: 0, Current Usage: 0, Additional Required: 96.")]
    [InlineData("Standard_NC6s_v3", 400, "SKUNotAvailable",
        "The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_NC6s_v3' is currently not available in location 'eastus'.")]
    public async Task ACloudErrorLandsOnLaunchedFalseWithArmsMessage(string vmSize, int status, string code, string message)
    {
        _arm.FailSize(vmSize, status, code, message);
        await CreateClaimAsync("wsfail00001", vmSize);

        var claim = await UntilAsync(async () => await ClaimAsync("wsfail00001") is { } c && Condition(c, "Launched") == "False" ? c : null);
        var launched = claim.Status!.Conditions!.Single(c => c.Type == "Launched");

        Assert.Equal(code, launched.Reason);
        Assert.Equal(message, launched.Message);
        Assert.Empty(_arm.PoolNames);
        Assert.False(_provisioner.HasExited, _provisioner.Log);
    }

    [Theory]
    [InlineData("ws-with-dash", "InvalidNodeClaimName", "cannot name an AKS agent pool")]
    [InlineData("wsnotype0001", "InstanceTypeMissing", "has no node.kubernetes.io/instance-type requirement")]
    public async Task AClaimThatCannotNameAPoolOrHasNoSizeFailsWithoutCallingArm(string name, string reason, string message)
    {
        await CreateClaimAsync(name, name == "wsnotype0001" ? null : "Standard_NC24ads_A100_v4");

        var claim = await UntilAsync(async () => await ClaimAsync(name) is { } c && Condition(c, "Launched") == "False" ? c : null);
        var launched = claim.Status!.Conditions!.Single(c => c.Type == "Launched");

        Assert.Equal(reason, launched.Reason);
        Assert.Contains(message, launched.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_arm.Requests, r => r.Method == "PUT");
    }

    [Fact]
    public async Task ThrottlingAndACreateAlreadyInProgressAreWaitedOut()
    {
        _arm.ConflictOnCreate(1);
        _arm.Throttle(2);
        await CreateClaimAsync("wsbusy00001", "Standard_NC24ads_A100_v4");

        await UntilAsync(async () => await ClaimAsync("wsbusy00001") is { } c && Condition(c, "Ready") == "True" ? c : null);

        Assert.Equal(2, _arm.Requests.Count(r => r.Status == 429));
        Assert.Single(_arm.Requests, r => r.Method == "PUT" && r.Status == 409);
        Assert.Equal(["wsbusy00001"], _arm.PoolNames);
        Assert.False(_provisioner.HasExited, _provisioner.Log);
    }

    [Fact]
    public async Task AProvisionerKilledMidCreateNeitherDuplicatesNorLeaksThePool()
    {
        _arm.OperationTime = TimeSpan.FromSeconds(4);
        await CreateClaimAsync("wskill00001", "Standard_NC24ads_A100_v4");
        await UntilAsync(() => Task.FromResult(_arm.Requests.Any(r => r.Method == "PUT") ? "created" : null));
        _provisioner.Kill();
        await _provisioner.DisposeAsync();

        _provisioner = StartProvisioner();
        var claim = await UntilAsync(async () => await ClaimAsync("wskill00001") is { } c && Condition(c, "Ready") == "True" ? c : null);

        Assert.Single(_arm.Requests, r => r.Method == "PUT");
        Assert.Equal(["wskill00001"], _arm.PoolNames);
        Assert.Equal(ArmContractServer.NodeName("wskill00001"), claim.Status!.NodeName);
    }

    [Fact]
    public async Task ACpuSizeIsLabelledCpuAndAClaimWithoutStorageIsRefusedBeforeArm()
    {
        await CreateClaimAsync("wscpu000001", "Standard_D4s_v5");
        await CreateClaimAsync("wsnodisk001", "Standard_NC24ads_A100_v4", storage: "0");

        await UntilAsync(async () => await ClaimAsync("wscpu000001") is { } c && Condition(c, "Ready") == "True" ? c : null);
        var refused = await UntilAsync(async () => await ClaimAsync("wsnodisk001") is { } c && Condition(c, "Launched") == "False" ? c : null);
        var body = JsonNode.Parse(_arm.Requests.Single(r => r.Method == "PUT" && r.Path.EndsWith("/wscpu000001", StringComparison.Ordinal)).Body!)!["properties"]!;
        var launched = refused.Status!.Conditions!.Single(c => c.Type == "Launched");

        Assert.Equal("cpu", (string?)body["nodeLabels"]!["kaito.sh/machine-type"]);
        Assert.Equal("InvalidStorageRequest", launched.Reason);
        Assert.Equal("storage request of NodeClaim wsnodisk001 should be at least 1Gi: it sizes the node's OS disk", launched.Message);
        Assert.DoesNotContain(_arm.Requests, r => r.Method == "PUT" && r.Path.EndsWith("/wsnodisk001", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheCollectorDeletesWorkspacePoolsWithoutAClaimAndTheirNodesAndLeavesOthers()
    {
        _arm.Seed("wsorphan0001", "Standard_NC24ads_A100_v4", new()
        {
            ["karpenter.sh/nodepool"] = "kaito", ["kaito.sh/workspace"] = "gone", ["kaito.sh/workspacenamespace"] = "default", ["kaito.sh/creation-timestamp"] = "2026-01-01T00-00-00Z",
        });
        _arm.Seed("rgorphan0001", "Standard_NC24ads_A100_v4", new() { ["karpenter.sh/nodepool"] = "kaito", ["kaito.sh/ragengine"] = "gone", ["kaito.sh/creation-timestamp"] = "2026-01-01T00-00-00Z" });
        // Labelled for KAITO's node pool by hand, for no workspace or RAG engine: not the provisioner's to delete.
        _arm.Seed("handpool", "Standard_NC24ads_A100_v4", new() { ["karpenter.sh/nodepool"] = "kaito", ["kaito.sh/creation-timestamp"] = "2026-01-01T00-00-00Z" });
        _arm.Seed("userpool", "Standard_D4s_v5", new() { ["team"] = "web" });
        // The orphan's VM had registered before its claim went.
        await _cluster.Client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = ArmContractServer.NodeName("wsorphan0001"), Labels = new Dictionary<string, string> { ["agentpool"] = "wsorphan0001" } },
        });

        await UntilAsync(() => Task.FromResult(_arm.PoolNames.Contains("wsorphan0001") || _arm.PoolNames.Contains("rgorphan0001") ? null : "collected"));
        await UntilAsync(async () => (await _cluster.Client.CoreV1.ListNodeAsync()).Items.Any(n => n.Metadata.Name == ArmContractServer.NodeName("wsorphan0001")) ? null : "node gone");

        Assert.Equal(["handpool", "userpool"], _arm.PoolNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AGatewayErrorPageFromArmDoesNotStopTheOrphanCollector()
    {
        // More than the pipeline's retries: the collector sees the HTML page itself.
        _arm.GatewayErrors(12);
        _arm.Seed("wsorphan0002", "Standard_NC24ads_A100_v4", new() { ["karpenter.sh/nodepool"] = "kaito", ["kaito.sh/workspace"] = "gone", ["kaito.sh/creation-timestamp"] = "2026-01-01T00-00-00Z" });

        await UntilAsync(() => Task.FromResult(_provisioner.Log.Contains("Looking for orphan agent pools failed", StringComparison.Ordinal) ? "reported" : null));
        await UntilAsync(() => Task.FromResult(_arm.PoolNames.Contains("wsorphan0002") ? null : "collected"));

        Assert.False(_provisioner.HasExited, _provisioner.Log);
        Assert.Contains("ARM answered 502 (HTTP502) for agent pool *: a non-JSON answer: <html><head><title>502 Bad Gateway", _provisioner.Log, StringComparison.Ordinal);
    }

    private ServiceProcess StartProvisioner() => ServiceProcess.Start("Kaito.Provisioner", _folder,
        ["--kubeconfig", _cluster.Kubeconfig, "--provider", "azure", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0",
         "--subscription", ArmContractServer.Subscription, "--resource-group", ArmContractServer.ResourceGroup, "--cluster", ArmContractServer.Cluster,
         "--arm-endpoint", _arm.Endpoint.ToString(), "--authority-host", _arm.Endpoint.ToString(), "--trusted-ca-file", _arm.CaFile,
         "--Provisioner:Azure:GarbageCollectionInterval=00:00:01", "--Provisioner:Azure:PollInterval=00:00:00.5"],
        new Dictionary<string, string>
        {
            // What AKS workload identity injects into the pod.
            ["AZURE_CLIENT_ID"] = ArmContractServer.ClientId,
            ["AZURE_TENANT_ID"] = ArmContractServer.Tenant,
            ["AZURE_FEDERATED_TOKEN_FILE"] = Path.Combine(_folder, "azure-identity-token"),
        });

    private async Task CreateClaimAsync(string name, string? instanceType, string imageFamily = "ubuntu", string storage = "87Gi")
    {
        List<object> requirements = [new { key = "karpenter.sh/nodepool", @operator = "In", values = (string[])["kaito"] }];
        if (instanceType is not null)
        {
            requirements.Add(new { key = "node.kubernetes.io/instance-type", @operator = "In", values = (string[])[instanceType] });
        }

        var claim = new
        {
            apiVersion = "karpenter.sh/v1",
            kind = "NodeClaim",
            metadata = new
            {
                name,
                labels = new Dictionary<string, string>
                {
                    ["karpenter.sh/nodepool"] = "kaito", ["kaito.sh/workspace"] = "workspace-phi-4-mini", ["kaito.sh/workspacenamespace"] = "default",
                },
                annotations = new Dictionary<string, string> { ["kaito.sh/node-image-family"] = imageFamily },
            },
            spec = new
            {
                nodeClassRef = new { group = "kaito.sh", kind = "KaitoNodeClass", name = "default" },
                taints = new[] { new { key = "sku", value = "gpu", effect = "NoSchedule" } },
                requirements,
                resources = new { requests = new { storage } },
            },
        };
        (await _cluster.Kubectl.RunAsync(["apply", "-f", "-"], JsonSerializer.Serialize(claim), TimeSpan.FromSeconds(30))).EnsureSuccess();
    }

    private Task<NodeClaim?> ClaimAsync(string name) => NodeClaimProbes.GetAsync(_cluster.Kubectl, name);

    private static string? Condition(NodeClaim claim, string type) => NodeClaimProbes.Condition(claim, type);

    private Task<T> UntilAsync<T>(Func<Task<T?>> probe)
        where T : class => Eventually.ValueAsync(probe, TimeSpan.FromSeconds(60), () => $"provisioner log:\n{_provisioner.Log}\nARM requests:\n{string.Join('\n', _arm.Requests)}");
}
