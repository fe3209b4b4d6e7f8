using Kaito.Api.Catalog;

namespace Kaito.Api.Tests;

public sealed class CatalogTests
{
    [Theory]
    [InlineData("phi-3-mini-128k-instruct", "phi-3-mini-128k-instruct")]
    [InlineData("Phi-3-Mini-128K-Instruct", "phi-3-mini-128k-instruct")]
    [InlineData("microsoft/Phi-3-mini-128k-instruct", "phi-3-mini-128k-instruct")]
    [InlineData("microsoft/phi-4-mini-instruct", "phi-4-mini-instruct")]
    [InlineData("mistral-7b", "mistral-7b-v0.3")]
    [InlineData("mistral-7b-instruct", "mistral-7b-instruct-v0.3")]
    [InlineData("kaito-tiny", "kaito-tiny")]
    public void ResolvesNamesAliasesAndIdsCaseInsensitively(string name, string preset)
    {
        Assert.True(ModelCatalog.Default.TryResolve(name, out var resolved));
        Assert.Equal(preset, resolved.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("phi-9")]
    [InlineData("someone/unknown-model")]
    public void UnknownNamesDoNotResolve(string name) => Assert.False(ModelCatalog.Default.TryResolve(name, out _));

    [Fact]
    public void TheCatalogHasEveryModelTheIssueAsksFor()
    {
        string[] required =
        [
            "phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct", "phi-3-medium-4k-instruct", "phi-3-medium-128k-instruct",
            "phi-3.5-mini-instruct", "phi-4", "phi-4-mini-instruct", "mistral-7b-v0.3", "mistral-7b-instruct-v0.3",
            "qwen2.5-coder-7b-instruct", "qwen2.5-coder-32b-instruct", "llama-3.1-8b-instruct",
            "deepseek-r1-distill-llama-8b", "deepseek-r1-distill-qwen-14b", "llama-3.3-70b-instruct", "kaito-tiny",
        ];

        Assert.All(required, name => Assert.True(ModelCatalog.Default.TryResolve(name, out _), name));
    }

    [Fact]
    public void DiskIsWholeGibibytesOfWeightsPlusEighty()
    {
        Assert.True(ModelCatalog.Default.TryResolve("phi-4-mini-instruct", out var phi4Mini));

        Assert.Equal(87, phi4Mini.InferenceDiskGiB);
    }

    [Theory]
    [InlineData("Standard_NC6s_v3", 1, 16, "V100")]
    [InlineData("standard_nc24ads_a100_v4", 1, 80, "A100")]
    [InlineData("Standard_ND96isr_H100_v5", 8, 640, "H100")]
    [InlineData("p5.48xlarge", 8, 640, "H100")]
    [InlineData("Standard_NC16_A2", 2, 32, "A2")]
    public void FindsSkusWithTheirGpus(string name, int gpus, double memory, string model)
    {
        var sku = GpuSkuCatalog.Default.Find(name);

        Assert.NotNull(sku);
        Assert.Equal(gpus, sku.Gpus);
        Assert.Equal(memory, sku.GpuMemoryGiB);
        Assert.Equal(model, sku.GpuModel);
    }

    [Fact]
    public void SkusAreFoundOnlyInTheirCloudWhenOneIsNamed()
    {
        Assert.NotNull(GpuSkuCatalog.Default.Find("p4d.24xlarge", "aws"));
        Assert.Null(GpuSkuCatalog.Default.Find("p4d.24xlarge", "azure"));
    }

    [Theory]
    [InlineData("Standard_NC999_Future_v9", true)]
    [InlineData("Standard_D4s_v5", true)]
    [InlineData("Standard_E4s_v5", false)]
    public void UnknownAzureGpuFamiliesAreTolerated(string name, bool tolerated) =>
        Assert.Equal(tolerated, GpuSkuCatalog.IsToleratedAzureName(name));

    [Theory]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"1\"\n    architecture: A\n    layers: two\n", "models.yaml:6: models[0] (a), field 'layers': expected an integer, got 'two'")]
    [InlineData("models:\n  - name: a\n    id: x/a\n", "models.yaml:2: models[0] (a), field 'architecture': is required")]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"1\"\n    architecture: A\n    layers: 2\n    hiddenSize: 8\n    attentionHeads: 2\n    kvHeads: 2\n    headDim: 4\n    contextLength: 8\n    dtype: f32\n    weightsGiB: 1\n    runtimes: [vllm]\n    colour: red\n", "models.yaml:15: models[0] (a), field 'colour': unknown field")]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"1\"\n    architecture: A\n    layers: 2\n    hiddenSize: 8\n    attentionHeads: 2\n    contextLength: 8\n    dtype: f32\n    weightsGiB: 1\n    runtimes: [vllm]\n", "models.yaml:2: models[0] (a), field 'kvHeads': give either kvHeads and headDim")]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"1\"\n    architecture: A\n    layers: 2\n    hiddenSize: 8\n    attentionHeads: 2\n    kvHeads: 2\n    headDim: 4\n    contextLength: 8\n    dtype: f32\n    weightsGiB: 1\n    runtimes: [tensorrt]\n", "models.yaml:14: models[0] (a), field 'runtimes': 'tensorrt' is not one of vllm, transformers")]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"-latest\"\n    architecture: A\n    layers: 2\n    hiddenSize: 8\n    attentionHeads: 2\n    kvHeads: 2\n    headDim: 4\n    contextLength: 8\n    dtype: f32\n    weightsGiB: 1\n    runtimes: [vllm]\n", "models.yaml:2: models[0] (a), field 'imageTag': '-latest' is not an image tag")]
    [InlineData("models:\n  - name: a\n    id: x/a\n    imageTag: \"1\"\n    revision: main\n    architecture: A\n    layers: 2\n    hiddenSize: 8\n    attentionHeads: 2\n    kvHeads: 2\n    headDim: 4\n    contextLength: 8\n    dtype: f32\n    weightsGiB: 1\n    runtimes: [vllm]\n", "models.yaml:2: models[0] (a), field 'revision': 'main' is not a commit")]
    [InlineData("models: [\n", "models.yaml:2: invalid YAML")]
    public void AMalformedCatalogEntryIsReportedWithFileEntryFieldAndLine(string yaml, string message)
    {
        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(yaml, "models.yaml"));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("azure:\n  - {name: X, gpus: 0, gpuMemoryGiB: 16, gpuModel: V100, cpu: 6, memoryGiB: 112}\n", "skus.yaml:2: azure[0] (X), field 'gpus': must be at least 1, got 0")]
    [InlineData("gcp:\n  - {name: X}\n", "skus.yaml:1: gcp: unknown cloud")]
    [InlineData("azure:\n  - {name: X, gpus: 1, gpuMemoryGiB: 16, gpuModel: V100, cpu: 6, memoryGiB: 112}\n  - {name: x, gpus: 1, gpuMemoryGiB: 16, gpuModel: V100, cpu: 6, memoryGiB: 112}\n", "skus.yaml:3: azure[1] (x), field 'name': 'x' is listed twice")]
    public void AMalformedSkuEntryIsReportedWithFileEntryFieldAndLine(string yaml, string message)
    {
        var error = Assert.Throws<CatalogFormatException>(() => GpuSkuCatalog.Load(yaml, "skus.yaml"));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }
}
