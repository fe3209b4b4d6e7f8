using System.Text;
using System.Text.Json;
using k8s;
using Kaito.Api.Catalog;
using Kaito.Api.Serialization;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Testing;
using Xunit.Abstractions;
using YamlDotNet.Core;

namespace Kaito.Api.Tests;

/// <summary>
/// What the webhook and the controller read from users, against thousands of mutated inputs (seeded, repeatable):
/// YAML is loaded or refused with a YAML error; a workspace is read or refused as JSON, and the validator answers with
/// problems — none of them throws anything else.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Iterations = 10_000;

    private static readonly string[] s_yamlFiles =
    [
        .. Directory.GetFiles(Repository.PathOf("examples"), "*.yaml", SearchOption.AllDirectories),
        Repository.PathOf("Kaito.Api", "Data", "training-config-qlora.yaml"),
        Repository.PathOf("Kaito.Api", "Data", "training-config-lora.yaml"),
    ];

    [Fact]
    public void YamlDocuments()
    {
        var seeds = s_yamlFiles.Select(File.ReadAllBytes).ToList();

        Report(Fuzzer.Run("YAML (bounded loader)", seeds, Iterations, 11, bytes => BoundedYaml.Load(Encoding.UTF8.GetString(bytes)), e => e is YamlException));
        Report(Fuzzer.Run("YAML manifests to JSON", seeds, Iterations, 12, bytes => KaitoYaml.LoadAll(Encoding.UTF8.GetString(bytes)),
            e => e is CatalogFormatException));
    }

    [Fact]
    public void TrainingAndInferenceConfigs()
    {
        var seeds = new List<byte[]>
        {
            File.ReadAllBytes(Repository.PathOf("Kaito.Api", "Data", "training-config-qlora.yaml")),
            Encoding.UTF8.GetBytes("vllm:\n  max-model-len: 4096\n  gpu-memory-utilization: 0.9\n"),
        };

        Report(Fuzzer.Run("training_config.yaml (validator)", seeds, Iterations, 13, bytes =>
        {
            var yaml = Encoding.UTF8.GetString(bytes);
            _ = TrainingConfigValidator.Validate(yaml, "qlora");
            _ = TrainingConfigValidator.OutputDirectory(yaml);
        }, _ => false));
        Report(Fuzzer.Run("inference_config.yaml (validator)", seeds, Iterations, 14, bytes =>
        {
            var context = new ValidationContext { ConfigMaps = _ => new Dictionary<string, string> { ["inference_config.yaml"] = Encoding.UTF8.GetString(bytes) } };
            _ = WorkspaceValidator.Validate(WorkspaceBuilders.Inference(w => w.Inference!.Config = "fuzzed"), null, context);
        }, _ => false));
    }

    [Fact]
    public void WorkspacesAsTheWebhookReadsThem()
    {
        var seeds = s_yamlFiles.Take(s_yamlFiles.Length - 2)
            .SelectMany(f => KaitoYaml.LoadAll(File.ReadAllText(f)))
            .Select(json => Encoding.UTF8.GetBytes(json.ToJsonString()))
            .ToList();
        var context = new ValidationContext { ConfigMaps = _ => null };

        Report(Fuzzer.Run("Workspace JSON (deserialize and validate)", seeds, Iterations, 15, bytes =>
        {
            var workspace = KubernetesJson.Deserialize<Workspace>(Encoding.UTF8.GetString(bytes));
            if (workspace?.Metadata is not null)
            {
                _ = WorkspaceValidator.Validate(workspace, workspace, context);
            }
        }, e => e is JsonException));
    }

    private void Report(Fuzzer.Report report) => output.WriteLine(report.ToString());
}
