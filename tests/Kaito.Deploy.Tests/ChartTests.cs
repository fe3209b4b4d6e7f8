using System.Text.Json.Nodes;
using k8s;
using Kaito.Deploy;
using Kaito.ServiceDefaults;
using Kaito.Testing;
using YamlDotNet.RepresentationModel;

namespace Kaito.Deploy.Tests;

/// <summary>The generated chart: checked in as generated, derived from the components' code, typed, hardened, versioned.</summary>
public sealed class ChartTests
{
    private const string Regenerate = "dotnet run --project Kaito.AppHost -- --operation publish --step publish-kubernetes --output-path deploy/kubernetes";

    [Fact]
    public void TheCheckedInChartAndInstallAreWhatTheGeneratorWrites()
    {
        var folder = Repository.PathOf("deploy", "kubernetes");
        var expected = KaitoChart.Files().ToDictionary(f => f.Path, f => f.Content);
        var actual = Directory.EnumerateFiles(Path.Combine(folder, "chart"), "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(Path.Combine(folder, "chart"), f).Replace('\\', '/'), File.ReadAllText);
        Assert.True(expected.Keys.Order().SequenceEqual(actual.Keys.Order()),
            $"deploy/kubernetes/chart has [{string.Join(", ", actual.Keys.Order())}], the generator writes [{string.Join(", ", expected.Keys.Order())}]: run {Regenerate}");
        foreach (var (path, content) in expected)
        {
            Assert.True(content == actual[path], $"deploy/kubernetes/chart/{path} is not what the generator writes: run {Regenerate}");
        }

        Assert.True(KaitoChart.RenderAll() == File.ReadAllText(Path.Combine(folder, "kaito.yaml")), $"deploy/kubernetes/kaito.yaml is stale: run {Regenerate}");
    }

    [Fact]
    public void PortsProbesAndVersionComeFromTheComponents()
    {
        var documents = Documents(KaitoChart.RenderAll());
        var controller = Container(documents, "kaito-controller");
        var provisioner = Container(documents, "kaito-provisioner");
        Assert.Equal(DefaultPorts.Controller, (long)controller["ports"]![0]!["containerPort"]!);
        Assert.Equal(DefaultPorts.Provisioner, (long)provisioner["ports"]![0]!["containerPort"]!);
        foreach (var container in new[] { controller, provisioner })
        {
            Assert.Equal(HealthEndpoints.HealthPath, (string?)container["readinessProbe"]!["httpGet"]!["path"]);
            Assert.Equal(HealthEndpoints.AlivePath, (string?)container["livenessProbe"]!["httpGet"]!["path"]);
            Assert.EndsWith($":{KaitoChart.Version}", (string?)container["image"], StringComparison.Ordinal);
        }

        Assert.DoesNotContain(":latest", KaitoChart.RenderAll(new Dictionary<string, string> { ["nvidiaDevicePlugin.enabled"] = "true" }), StringComparison.Ordinal);
        Assert.Contains($"--Controller:ImageTag={KaitoChart.Version}", controller["args"]!.AsArray().Select(a => (string?)a));
    }

    [Fact]
    public void LeaseNamesAreValuesInTheReleaseNamespaceAndTheRolesFollowThem()
    {
        var documents = Documents(KaitoChart.RenderAll(new Dictionary<string, string> { ["controller.leaseName"] = "kaito-workspace-lease" }, releaseNamespace: "ml-platform"));
        var args = Container(documents, "kaito-controller")["args"]!.AsArray().Select(a => (string?)a).ToList();
        var leaseRules = documents.Where(d => (string?)d["kind"] == "Role" && (string?)d["metadata"]!["namespace"] == "ml-platform")
            .SelectMany(d => d["rules"]!.AsArray()).Where(r => r!["resources"]!.AsArray().Any(x => (string?)x == "leases") && r["resourceNames"] is not null)
            .Select(r => (string?)r!["resourceNames"]![0]).Order(StringComparer.Ordinal);

        Assert.Contains("--LeaderElection:LeaseName=kaito-workspace-lease", args);
        Assert.Contains("--LeaderElection:Namespace=ml-platform", args);
        Assert.Equal(["kaito-provisioner", "kaito-workspace-lease"], leaseRules);
    }

    [Fact]
    public void EveryPodIsRestrictedAndOnlyTheControlPlaneGetsAToken()
    {
        var documents = Documents(KaitoChart.RenderAll(new Dictionary<string, string> { ["nvidiaDevicePlugin.enabled"] = "true" }));
        var workloads = documents.Where(d => (string?)d["kind"] is "Deployment" or "DaemonSet").ToList();
        Assert.Equal(["kaito-controller", "kaito-provisioner", "nvidia-device-plugin"], workloads.Select(w => (string?)w["metadata"]!["name"]).Order());
        foreach (var workload in workloads)
        {
            var name = (string?)workload["metadata"]!["name"];
            var pod = workload["spec"]!["template"]!["spec"]!;
            Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]!["seccompProfile"]!["type"]);
            // NVIDIA's plugin runs as root: it makes its socket in the kubelet's root-owned device-plugins folder
            Assert.Equal(name != "nvidia-device-plugin", (bool?)pod["securityContext"]!["runAsNonRoot"] == true);
            Assert.Equal(name != "nvidia-device-plugin", (bool?)pod["automountServiceAccountToken"]);
            foreach (var container in pod["containers"]!.AsArray())
            {
                var context = container!["securityContext"]!;
                Assert.True((bool?)context["readOnlyRootFilesystem"], $"{name}: readOnlyRootFilesystem");
                Assert.False((bool?)context["allowPrivilegeEscalation"], $"{name}: allowPrivilegeEscalation");
                Assert.Equal(["ALL"], context["capabilities"]!["drop"]!.AsArray().Select(c => (string?)c));
            }
        }

        Assert.All(documents.Where(d => (string?)d["kind"] == "ServiceAccount"), account => Assert.False((bool?)account["automountServiceAccountToken"]));
        // the provisioner's node writes are for LocalCluster's simulated nodes only
        var provisionerRole = documents.Single(d => (string?)d["kind"] == "ClusterRole" && (string?)d["metadata"]!["name"] == "kaito-provisioner");
        Assert.DoesNotContain(provisionerRole["rules"]!.AsArray(), r => r!["verbs"]!.AsArray().Any(v => (string?)v == "create") && r["resources"]!.AsArray().Any(x => (string?)x == "nodes"));
        // Secrets: the controller reads them (pull and push secrets exist) and writes only its certificate's
        var controllerRules = documents.Where(d => (string?)d["kind"] is "ClusterRole" or "Role" && (string?)d["metadata"]!["name"] == "kaito-controller")
            .SelectMany(d => d["rules"]!.AsArray()).Where(r => r!["resources"]!.AsArray().Any(x => (string?)x == "secrets")).ToList();
        Assert.All(controllerRules.Where(r => r!["verbs"]!.AsArray().Any(v => (string?)v is "update" or "patch" or "create" or "delete" or "list" or "watch")),
            r => Assert.Equal([KaitoChart.WebhookCertificateSecret], r!["resourceNames"]!.AsArray().Select(n => (string?)n)));
        Assert.All(documents.Where(d => (string?)d["kind"] == "Role"), role => Assert.Equal(KaitoChart.DefaultNamespace, (string?)role["metadata"]!["namespace"]));
    }

    [Fact]
    public void EveryFieldIsOneTheKubernetesTypesHave()
    {
        // Strict decoding, as kube-apiserver's fieldValidation=Strict: each object read into the client's typed model and
        // written back keeps every field it had; a misspelt or misplaced field would be dropped.
        var rendered = KaitoChart.RenderAll(new Dictionary<string, string> { ["nvidiaDevicePlugin.enabled"] = "true", ["image.pullSecret"] = "regcred", ["azure.clientId"] = "id", ["telemetry.otlpEndpoint"] = "http://otel:4317" });
        var typed = KubernetesYaml.LoadAllFromString(rendered);
        var documents = Documents(rendered);
        Assert.Equal(documents.Count, typed.Count);
        for (var i = 0; i < documents.Count; i++)
        {
            var roundTrip = JsonNode.Parse(KubernetesJson.Serialize(typed[i]))!;
            Missing(documents[i], roundTrip, $"{documents[i]["kind"]}/{documents[i]["metadata"]?["name"]}");
        }

        // and the check itself catches a misspelt field
        const string Misspelt = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicaz: 2\n";
        var error = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() =>
            Missing(Documents(Misspelt)[0], JsonNode.Parse(KubernetesJson.Serialize(KubernetesYaml.LoadAllFromString(Misspelt)[0])), "Deployment/x"));
        Assert.Contains("Deployment/x.spec.replicaz", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRendererRefusesTemplatesOutsideItsSubsetNamingTheLine()
    {
        var values = ChartValues.Parse("a:\n  b: x\n", "values.yaml");
        Assert.Equal("k: \"x\"\n", ChartRenderer.Render("t.yaml", "k: {{ .Values.a.b | quote }}\n", values, "ns", "kaito", "1.0.0"));
        Assert.Contains("t.yaml:2", Assert.Throws<FormatException>(() => ChartRenderer.Render("t.yaml", "ok: 1\nk: {{ include \"x\" . }}\n", values, "ns", "kaito", "1.0.0")).Message, StringComparison.Ordinal);
        Assert.Contains(".Values.a.c is not in values.yaml", Assert.Throws<FormatException>(() => ChartRenderer.Render("t.yaml", "{{ .Values.a.c }}", values, "ns", "kaito", "1.0.0")).Message, StringComparison.Ordinal);
        Assert.Equal("a\nc", ChartRenderer.Render("t.yaml", "a\n{{- if .Values.a.missing }}\nb\n{{- end }}\nc", values.With(new Dictionary<string, string> { ["a.missing"] = "" }), "ns", "kaito", "1.0.0"));
    }

    private static void Missing(JsonNode? original, JsonNode? typed, string path)
    {
        switch (original)
        {
            case JsonObject map:
                foreach (var (key, value) in map)
                {
                    Assert.True(typed is JsonObject t && t.ContainsKey(key), $"{path}.{key} is not a field of the Kubernetes type");
                    Missing(value, ((JsonObject)typed!)[key], $"{path}.{key}");
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    Missing(list[i], typed?.AsArray()[i], $"{path}[{i}]");
                }

                break;
        }
    }

    internal static List<JsonNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => ToJson(d.RootNode)!).Where(d => d is JsonObject).ToList();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(e => KeyValuePair.Create(((YamlScalarNode)e.Key).Value!, ToJson(e.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar => scalar.Value switch
        {
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            "null" or "~" => null,
            var text when long.TryParse(text, out var n) => JsonValue.Create(n),
            var text => JsonValue.Create(text),
        },
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };

    private static JsonNode Container(List<JsonNode> documents, string deployment) =>
        documents.Single(d => (string?)d["kind"] == "Deployment" && (string?)d["metadata"]!["name"] == deployment)["spec"]!["template"]!["spec"]!["containers"]![0]!;
}
