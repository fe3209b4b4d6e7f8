using Kaito.Api.Catalog;

namespace Kaito.Api.Sizing;

/// <summary>
/// How many GPU nodes a model needs on a SKU, by KAITO's formula: the weights (plus 2 % safety and 5 % overhead) must
/// fit in what each GPU has left after the fixed runtime cost and the KV cache for the context length.
/// </summary>
public static class NodeEstimator
{
    /// <summary>The share of GPU memory the engine may use.</summary>
    public const double GpuMemoryUtilization = 0.84;

    /// <summary>Per-GPU memory outside the weights and KV cache: 0.6 GiB non-torch plus 1.7 GiB activations.</summary>
    public const double FixedOverheadGiB = 2.3;

    /// <summary>Overhead proportional to the weights.</summary>
    public const double WeightOverheadFactor = 1.05;

    /// <summary>Safety margin on the weights' size.</summary>
    public const double WeightSafetyFactor = 1.02;

    /// <summary>The context length sized for when the inference config does not set max-model-len.</summary>
    public const int DefaultContextLength = 2048;

    private const double BytesPerGiB = 1024d * 1024 * 1024;

    /// <summary>Estimates the node count for <paramref name="model"/> on <paramref name="sku"/>.</summary>
    /// <param name="model">The model preset.</param>
    /// <param name="sku">The GPU instance type.</param>
    /// <param name="contextLength">The explicit max-model-len, or null for <see cref="DefaultContextLength"/>.</param>
    public static NodeEstimate Estimate(ModelPreset model, GpuSku sku, int? contextLength = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sku);

        var perGpu = sku.PerGpuMemoryGiB;
        var available = perGpu * GpuMemoryUtilization;
        var kvCache = (contextLength ?? DefaultContextLength) * (double)model.KvCacheBytesPerToken / BytesPerGiB / sku.Gpus;
        var fixedCost = FixedOverheadGiB + kvCache;
        if (available <= fixedCost)
        {
            return NodeEstimate.DoesNotFit(
                $"GPU memory of {sku.Name} ({perGpu:0.##} GiB per GPU, {available:0.##} GiB usable) is too small for " +
                $"{model.Name}: the runtime and KV cache alone need {fixedCost:0.##} GiB per GPU");
        }

        var forWeights = (available - fixedCost) / WeightOverheadFactor;
        var minGpus = (int)(model.WeightsGiB * WeightSafetyFactor / forWeights) + 1;
        var nodes = (minGpus + sku.Gpus - 1) / sku.Gpus;
        return new NodeEstimate(nodes, minGpus, forWeights, null);
    }

    /// <summary>
    /// The GPU memory <paramref name="model"/> needs on one GPU by the same formula: weights with safety and overhead,
    /// the fixed runtime cost and the KV cache for the context length, over the usable share.
    /// </summary>
    public static double GpuMemoryGiB(ModelPreset model, int? contextLength = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var kvCache = (contextLength ?? DefaultContextLength) * (double)model.KvCacheBytesPerToken / BytesPerGiB;
        return ((model.WeightsGiB * WeightSafetyFactor * WeightOverheadFactor) + FixedOverheadGiB + kvCache) / GpuMemoryUtilization;
    }
}
