using Kaito.Api.Crds;
using Kaito.Api.Workspaces;
using Kaito.Testing;
using k8s.Models;

namespace Kaito.Api.Tests;

public sealed class CustomResourceDefinitionsTests
{
    private static readonly XmlDocumentation s_docs = XmlDocumentation.For(typeof(Workspace).Assembly);

    /// <summary>
    /// deploy/crds must be what the types generate. To regenerate after changing a type:
    /// <c>UPDATE_GENERATED=1 dotnet test tests/Kaito.Api.Tests --filter CustomResourceDefinitionsTests</c>.
    /// </summary>
    [Fact]
    public void DeployCrdsMatchTheTypes()
    {
        var folder = Repository.PathOf("deploy", "crds");
        var update = Environment.GetEnvironmentVariable("UPDATE_GENERATED") == "1";
        var drifted = new List<string>();
        foreach (var (fileName, definition) in CustomResourceDefinitions.All(s_docs))
        {
            var path = Path.Combine(folder, fileName);
            var generated = CustomResourceDefinitions.ToYaml(definition);
            if (update)
            {
                Directory.CreateDirectory(folder);
                File.WriteAllText(path, generated);
            }
            else if (!File.Exists(path) || File.ReadAllText(path) != generated)
            {
                drifted.Add(fileName);
            }
        }

        Assert.True(drifted.Count == 0,
            $"deploy/crds drifted from the C# types ({string.Join(", ", drifted)}); regenerate with " +
            "UPDATE_GENERATED=1 dotnet test tests/Kaito.Api.Tests --filter CustomResourceDefinitionsTests");
    }

    [Fact]
    public void WorkspaceServesBothVersionsAndStoresV1Beta1WithTheBriefsColumns()
    {
        var crd = CustomResourceDefinitions.Workspace(s_docs);

        Assert.Equal("workspaces.kaito.sh", crd.Metadata.Name);
        Assert.Equal(["wk", "wks"], crd.Spec.Names.ShortNames);
        Assert.Equal(["workspace"], crd.Spec.Names.Categories);
        Assert.Equal([("v1alpha1", true, false), ("v1beta1", true, true)], crd.Spec.Versions.Select(v => (v.Name, v.Served, v.Storage)));
        foreach (var version in crd.Spec.Versions)
        {
            Assert.NotNull(version.Subresources.Status);
            // KAITO's columns (v1alpha1 without TargetNodeCount and State) and the brief's WorkspaceReady, none hidden.
            string[] kaito = version.Name == "v1beta1"
                ? ["Instance", "ResourceReady", "InferenceReady", "JobStarted", "WorkspaceSucceeded", "WorkspaceReady", "TargetNodeCount", "State", "Age"]
                : ["Instance", "ResourceReady", "InferenceReady", "JobStarted", "WorkspaceSucceeded", "WorkspaceReady", "Age"];
            Assert.Equal(kaito, version.AdditionalPrinterColumns.Select(c => c.Name));
            Assert.All(version.AdditionalPrinterColumns, c => Assert.Null(c.Priority));
            Assert.Equal(".status.conditions[?(@.type==\"WorkspaceReady\")].status",
                version.AdditionalPrinterColumns.Single(c => c.Name == "WorkspaceReady").JsonPath);
        }
    }

    [Fact]
    public void TheWorkspaceSchemaCarriesTheTypesRules()
    {
        var alpha = CustomResourceDefinitions.Workspace(s_docs).Spec.Versions[0].Schema.OpenAPIV3Schema;
        var beta = CustomResourceDefinitions.Workspace(s_docs).Spec.Versions[1].Schema.OpenAPIV3Schema;

        var resource = beta.Properties["resource"];
        Assert.Contains("labelSelector", resource.Required);
        Assert.Equal(1L, Convert.ToInt64(resource.Properties["count"].DefaultProperty, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Null(resource.Properties["instanceType"].DefaultProperty);
        Assert.Equal("Standard_NC24ads_A100_v4", alpha.Properties["resource"].Properties["instanceType"].DefaultProperty);
        Assert.True(beta.Properties["inference"].Properties["template"].XKubernetesPreserveUnknownFields);
        Assert.Null(beta.Properties["inference"].XKubernetesPreserveUnknownFields);
        Assert.Equal(10, beta.Properties["inference"].Properties["adapters"].MaxItems);
        Assert.Equal(["Pending", "Ready", "NotReady", "Running", "Succeeded", "Failed"],
            beta.Properties["status"].Properties["state"].EnumProperty.Cast<string>());
        Assert.Equal("map", beta.Properties["status"].Properties["conditions"].XKubernetesListType);
        Assert.StartsWith("Workspace is the Schema for the workspaces API", beta.Description, StringComparison.Ordinal);
        Assert.StartsWith("The GPU node SKU", resource.Properties["instanceType"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySchemaIsStructural()
    {
        foreach (var (file, definition) in CustomResourceDefinitions.All(s_docs))
        {
            foreach (var version in definition.Spec.Versions)
            {
                AssertStructural(version.Schema.OpenAPIV3Schema, $"{file} {version.Name}");
            }
        }
    }

    [Fact]
    public void NodeClaimAndKaitoNodeClassAreClusterScoped()
    {
        var nodeClaim = CustomResourceDefinitions.NodeClaim(s_docs);
        var nodeClass = CustomResourceDefinitions.KaitoNodeClass(s_docs);

        Assert.Equal(("nodeclaims.karpenter.sh", "Cluster"), (nodeClaim.Metadata.Name, nodeClaim.Spec.Scope));
        Assert.Equal(("kaitonodeclasses.kaito.sh", "Cluster"), (nodeClass.Metadata.Name, nodeClass.Spec.Scope));
        var spec = nodeClaim.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(["nodeClassRef", "requirements"], spec.Required);
        Assert.True(spec.Properties["resources"].Properties["requests"].AdditionalProperties is V1JSONSchemaProps { XKubernetesIntOrString: true });
    }

    private static void AssertStructural(V1JSONSchemaProps schema, string where)
    {
        Assert.True(schema.Type is not null || schema.XKubernetesIntOrString == true, $"{where}: a schema node has no type");
        foreach (var (name, child) in schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
        {
            AssertStructural(child, $"{where}.{name}");
        }

        if (schema.Items is V1JSONSchemaProps items)
        {
            AssertStructural(items, $"{where}[]");
        }

        if (schema.AdditionalProperties is V1JSONSchemaProps values)
        {
            AssertStructural(values, $"{where}{{}}");
        }
    }
}
