using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kaito.Deploy;
using Kaito.Testing;

namespace Kaito.Deploy.Tests;

/// <summary>
/// What `azd up` reads, checked for shape and consistency (azd, Bicep and Azure cannot run here): azure.yaml names an
/// AKS service whose Helm release is the generated chart in the chart's namespace; the predeploy hook needs only
/// outputs the Bicep declares and writes only values the chart has; the provisioner's federated credential names the
/// ServiceAccount the chart creates.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class AzdTests
{
    [Fact]
    public void AzureYamlDeploysTheGeneratedChartToAks()
    {
        var azure = ChartTests.Documents(File.ReadAllText(Repository.PathOf("azure.yaml"))).Single();
        Assert.Equal("bicep", (string?)azure["infra"]!["provider"]);
        Assert.True(File.Exists(Repository.PathOf((string)azure["infra"]!["path"]!, $"{azure["infra"]!["module"]}.bicep")));

        var service = Assert.Single(azure["services"]!.AsObject()).Value!;
        Assert.Equal("aks", (string?)service["host"]);
        Assert.Equal(KaitoChart.DefaultNamespace, (string?)service["k8s"]!["namespace"]);
        var project = Repository.PathOf((string)service["project"]!);
        var release = Assert.Single(service["k8s"]!["helm"]!["releases"]!.AsArray())!;
        Assert.Equal(Repository.PathOf("deploy", "kubernetes", "chart"), Path.GetFullPath(Path.Combine(project, (string)release["chart"]!)));
        Assert.Equal(Repository.PathOf("deploy", "azd", "values.generated.yaml"), Path.GetFullPath(Path.Combine(project, (string)release["values"]!)));

        var hook = Repository.PathOf((string)azure["hooks"]!["predeploy"]!["run"]!);
        Assert.True(File.Exists(hook), hook);
        Assert.True(File.GetUnixFileMode(hook).HasFlag(UnixFileMode.UserExecute), $"{hook} is not executable");
    }

    [Fact]
    public void TheHookNeedsOnlyWhatTheBicepOutputsAndWritesOnlyWhatTheChartTakes()
    {
        var hook = File.ReadAllText(Repository.PathOf("deploy", "azd", "predeploy.sh"));
        var outputs = OutputPattern().Matches(File.ReadAllText(Repository.PathOf("infra", "main.bicep"))).Select(m => m.Groups[1].Value).ToHashSet();
        var required = RequiredPattern().Matches(hook).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(required);
        Assert.All(required, variable => Assert.Contains(variable, outputs));

        // The values file it writes, with every variable set: each key is one of values.yaml's.
        var template = hook[(hook.IndexOf("<<EOF\n", StringComparison.Ordinal) + 6)..hook.LastIndexOf("\nEOF", StringComparison.Ordinal)];
        var written = VariablePattern().Replace(template, "x");
        var values = ChartValues.Parse(File.ReadAllText(Repository.PathOf("deploy", "kubernetes", "chart", "values.yaml")), "values.yaml");
        var paths = Leaves(ChartTests.Documents(written).Single(), "").ToList();
        Assert.Contains("image.registry", paths);
        Assert.Contains("azure.clientId", paths);
        Assert.All(paths, path => values.Lookup(path, "values.generated.yaml", 0));
    }

    [Fact]
    public void TheProvisionersIdentityIsFederatedWithTheChartsServiceAccount()
    {
        var resources = File.ReadAllText(Repository.PathOf("infra", "resources.bicep"));
        Assert.Contains($"'system:serviceaccount:{KaitoChart.DefaultNamespace}:{KaitoChart.ProvisionerName}'", resources, StringComparison.Ordinal);
        Assert.Contains("oidcIssuerProfile: { enabled: true }", resources, StringComparison.Ordinal);
        Assert.Contains("workloadIdentity: { enabled: true }", resources, StringComparison.Ordinal);
        Assert.Contains("'api://AzureADTokenExchange'", resources, StringComparison.Ordinal);

        // every parameter of main.bicep without a default gets one from main.parameters.json
        var bicep = File.ReadAllText(Repository.PathOf("infra", "main.bicep"));
        var parameters = JsonNode.Parse(File.ReadAllText(Repository.PathOf("infra", "main.parameters.json")))!["parameters"]!.AsObject();
        foreach (Match parameter in ParameterPattern().Matches(bicep))
        {
            if (!parameter.Groups[2].Value.Contains('=', StringComparison.Ordinal))
            {
                Assert.True(parameters.ContainsKey(parameter.Groups[1].Value), $"main.parameters.json has no value for {parameter.Groups[1].Value}");
            }
        }

        // and the chart's ServiceAccount carries the client ID the predeploy hook passes
        var install = KaitoChart.RenderAll(new Dictionary<string, string> { ["azure.clientId"] = "00000000-0000-0000-0000-000000000001" });
        var account = ChartTests.Documents(install).Single(d => (string?)d["kind"] == "ServiceAccount" && (string?)d["metadata"]!["name"] == KaitoChart.ProvisionerName);
        Assert.Equal("00000000-0000-0000-0000-000000000001", (string?)account["metadata"]!["annotations"]!["azure.workload.identity/client-id"]);
    }

    private static IEnumerable<string> Leaves(JsonNode node, string prefix) => node is JsonObject map
        ? map.SelectMany(e => Leaves(e.Value!, prefix.Length == 0 ? e.Key : $"{prefix}.{e.Key}"))
        : [prefix];

    [GeneratedRegex(@"(?m)^output (\w+) ")]
    private static partial Regex OutputPattern();

    [GeneratedRegex(@"\$\{(\w+):\?")]
    private static partial Regex RequiredPattern();

    [GeneratedRegex(@"\$\{\w+(:-)?\}")]
    private static partial Regex VariablePattern();

    [GeneratedRegex(@"(?m)^param (\w+) ([^\n]*)$")]
    private static partial Regex ParameterPattern();
}
