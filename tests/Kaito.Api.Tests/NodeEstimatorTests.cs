using Kaito.Api.Catalog;
using Kaito.Api.Sizing;

namespace Kaito.Api.Tests;

public sealed class NodeEstimatorTests
{
    // KAITO's worked examples (pkg/utils/resources node estimator), computed from its formula and catalog.
    [Theory]
    [InlineData("phi-4-mini-instruct", "Standard_NV36ads_A10_v5", 1)]
    [InlineData("llama-3.1-8b-instruct", "Standard_NV36ads_A10_v5", 1)]
    [InlineData("phi-4", "Standard_NV36ads_A10_v5", 2)]
    [InlineData("qwen2.5-coder-32b-instruct", "Standard_NC24ads_A100_v4", 2)]
    [InlineData("llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 3)]
    [InlineData("llama-3.3-70b-instruct", "Standard_NC96ads_A100_v4", 1)]
    [InlineData("llama-3.3-70b-instruct", "Standard_NC80adis_H100_v5", 1)]
    [InlineData("gpt-oss-120b", "Standard_NC24ads_A100_v4", 3)]
    [InlineData("deepseek-r1-0528", "Standard_ND96isr_H100_v5", 2)]
    // ours: the brief's model on the brief's SKU, and the tiny local model
    [InlineData("phi-3-mini-128k-instruct", "Standard_NC6s_v3", 1)]
    [InlineData("kaito-tiny", "Standard_NC6s_v3", 1)]
    public void EstimatesKaitosWorkedExamples(string model, string sku, int nodes)
    {
        var estimate = NodeEstimator.Estimate(Model(model), Sku(sku));

        Assert.True(estimate.Fits, estimate.Problem);
        Assert.Equal(nodes, estimate.Nodes);
    }

    [Fact]
    public void ALongerContextNeedsMoreMemoryForTheKvCache()
    {
        var shortContext = NodeEstimator.Estimate(Model("llama-3.3-70b-instruct"), Sku("Standard_NC24ads_A100_v4"), 2048);
        var longContext = NodeEstimator.Estimate(Model("llama-3.3-70b-instruct"), Sku("Standard_NC24ads_A100_v4"), 131072);

        Assert.True(longContext.WeightsGiBPerGpu < shortContext.WeightsGiBPerGpu);
        Assert.True(longContext.Nodes > shortContext.Nodes);
    }

    [Fact]
    public void AGpuTooSmallForTheKvCacheIsAProblemNotANodeCount()
    {
        var estimate = NodeEstimator.Estimate(Model("phi-3-mini-128k-instruct"), Sku("Standard_NV12s_v3"), 131072);

        Assert.False(estimate.Fits);
        Assert.Equal(0, estimate.Nodes);
        Assert.Contains("too small", estimate.Problem, StringComparison.Ordinal);
    }

    private static ModelPreset Model(string name) =>
        ModelCatalog.Default.TryResolve(name, out var preset) ? preset : throw new InvalidOperationException(name);

    private static GpuSku Sku(string name) => GpuSkuCatalog.Default.Find(name) ?? throw new InvalidOperationException(name);
}
