using System.Text.Json.Nodes;
using Kaito.Api.Serialization;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Testing;
using k8s;

namespace Kaito.Api.Tests;

public sealed class ExamplesTests
{
    public static TheoryData<string> Examples() =>
        new(Directory.EnumerateFiles(Repository.PathOf("examples"), "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Repository.Root, f)).Order());

    // SHA-256 of the first YAML block of shared/reference/seed-000_de75b9ac041d772e.txt (the brief's quick start).
    private const string QuickStartSha256 = "0b06f6df121dacaa29c830d6de60de124ac85df2e523542191399174905b2497";

    [Fact]
    public void TheQuickStartFileIsTheBriefsYamlByteForByte()
    {
        var example = File.ReadAllBytes(Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_phi_3.yaml"));

        Assert.Equal(QuickStartSha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(example)));

        // Where the brief's seed sits beside the repository (a developer's machine, CI), compare with it directly too.
        var seedPath = Repository.PathOf("..", "shared", "reference", "seed-000_de75b9ac041d772e.txt");
        if (File.Exists(seedPath))
        {
            var seed = File.ReadAllText(seedPath);
            var start = seed.IndexOf("```\n", StringComparison.Ordinal) + 4;
            Assert.Equal(seed[start..seed.IndexOf("```", start, StringComparison.Ordinal)], System.Text.Encoding.UTF8.GetString(example));
        }
    }

    [Fact]
    public void TheQuickStartDeserialisesIntoV1Alpha1WithEveryField()
    {
        var workspace = KaitoYaml.Deserialize<Workspace>(
            File.ReadAllText(Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_phi_3.yaml")));

        Assert.Equal("kaito.sh/v1alpha1", workspace.ApiVersion);
        Assert.Equal("Workspace", workspace.Kind);
        Assert.Equal("workspace-tuning-phi-3", workspace.Metadata.Name);
        Assert.Equal("Standard_NC6s_v3", workspace.Resource!.InstanceType);
        Assert.Equal("tuning-phi-3", workspace.Resource.LabelSelector!.MatchLabels["app"]);
        Assert.Null(workspace.Inference);
        Assert.Equal("phi-3-mini-128k-instruct", workspace.Tuning!.Preset!.Name);
        Assert.Equal("qlora", workspace.Tuning.Method);
        Assert.Equal(
            "https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/data/train-00000-of-00001-54e3756291ca09c6.parquet?download=true",
            Assert.Single(workspace.Tuning.Input!.Urls!));
        Assert.Equal("ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1", workspace.Tuning.Output!.Image);
        Assert.Equal("ACR_REGISTRY_SECRET_HERE", workspace.Tuning.Output.ImagePushSecret);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryExampleWorkspacePassesTheValidator(string file)
    {
        var documents = KaitoYaml.LoadAll(File.ReadAllText(Path.Combine(Repository.Root, file)), file);
        var configMaps = documents.Where(d => (string?)d["kind"] == "ConfigMap")
            .ToDictionary(d => (string)d["metadata"]!["name"]!, d => (IReadOnlyDictionary<string, string>)d["data"]!.AsObject()
                .ToDictionary(p => p.Key, p => (string)p.Value!));
        var context = new ValidationContext
        {
            NodeAutoProvisioning = !file.Contains("bring-your-own-nodes", StringComparison.Ordinal),
            ConfigMaps = name => configMaps.GetValueOrDefault(name),
            // The laptop walk-through's data server, allowed as README tells the AppHost (--allowed-data-hosts localhost:5002).
            AllowedDataOrigins = file.EndsWith("kaito_workspace_tuning_tiny.yaml", StringComparison.Ordinal) ? ["localhost:5002"] : [],
        };

        var workspaces = documents.Where(d => (string?)d["kind"] == "Workspace").Select(KaitoYaml.Deserialize<Workspace>).ToList();

        Assert.NotEmpty(workspaces);
        Assert.All(workspaces, w => Assert.True(WorkspaceValidator.Validate(w, context: context) is { IsValid: true } r, WorkspaceValidator.Validate(w, context: context).Message));
    }

    [Fact]
    public void TheLaptopWalkThroughsLocalDataUrlIsRefusedUnlessItsServerIsAllowed()
    {
        var file = Path.Combine("examples", "fine-tuning", "kaito_workspace_tuning_tiny.yaml");
        var workspace = KaitoYaml.Deserialize<Workspace>(KaitoYaml.LoadAll(File.ReadAllText(Path.Combine(Repository.Root, file)), file).Single());

        var refused = WorkspaceValidator.Validate(workspace, context: new ValidationContext());

        Assert.False(refused.IsValid);
        Assert.Contains("tuning.input.urls[0]: URL 'http://localhost:5002/kaito-tiny-count.jsonl' points at a local or metadata host (localhost), which is not allowed",
            refused.Message, StringComparison.Ordinal);
        Assert.True(WorkspaceValidator.Validate(workspace, context: new ValidationContext { AllowedDataOrigins = ["localhost:5002"] }).IsValid);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryExampleRoundTripsBetweenVersionsWithoutLoss(string file)
    {
        foreach (var document in KaitoYaml.LoadAll(File.ReadAllText(Path.Combine(Repository.Root, file)), file)
                     .Where(d => (string?)d["kind"] == "Workspace"))
        {
            var original = KaitoYaml.Deserialize<Workspace>(document);
            var originalVersion = original.ApiVersion.Split('/')[1];
            var otherVersion = originalVersion == "v1alpha1" ? "v1beta1" : "v1alpha1";

            var there = WorkspaceConversion.ConvertTo(original, otherVersion);
            var back = WorkspaceConversion.ConvertTo(there, originalVersion);

            Assert.Equal($"kaito.sh/{otherVersion}", there.ApiVersion);
            Assert.True(JsonNode.DeepEquals(document, JsonNode.Parse(KubernetesJson.Serialize(back))),
                $"{file}: {KubernetesJson.Serialize(back)}");
        }
    }

    [Fact]
    public void ConvertingToAnUnknownVersionIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => WorkspaceConversion.ConvertTo(new Workspace(), "v2"));

        Assert.Contains("v1alpha1, v1beta1", error.Message, StringComparison.Ordinal);
    }
}
