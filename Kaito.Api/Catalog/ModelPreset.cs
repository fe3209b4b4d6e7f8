using Kaito.Api.Names;

namespace Kaito.Api.Catalog;

/// <summary>A model of the preset catalog with the numbers sizing needs.</summary>
public sealed record ModelPreset
{
    /// <summary>The preset name users write; also the served model name.</summary>
    public required string Name { get; init; }

    /// <summary>The Hugging Face repository id.</summary>
    public required string Id { get; init; }

    /// <summary>Other names that resolve to this preset.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The HF architecture, for example LlamaForCausalLM.</summary>
    public required string Architecture { get; init; }

    /// <summary>The pinned tag of the model image <c>&lt;registry&gt;/kaito-&lt;name&gt;</c> that pods pull the weights from.</summary>
    public required string ImageTag { get; init; }

    /// <summary>The Hugging Face revision (a commit) weights are downloaded at when they come from the Hub; null: the repository's main branch, resolved to its commit when the pod starts.</summary>
    public string? Revision { get; init; }

    /// <summary>The model image's repository, as KAITO names it: <c>kaito-&lt;name&gt;</c>.</summary>
    public string ImageRepository => $"kaito-{Name}";

    /// <summary>What the model is, when the catalog says.</summary>
    public string? Description { get; init; }

    /// <summary>Decoder layers (num_hidden_layers).</summary>
    public required int Layers { get; init; }

    /// <summary>Hidden size.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Attention heads.</summary>
    public required int AttentionHeads { get; init; }

    /// <summary>Key/value heads (grouped-query attention); null for MLA models.</summary>
    public int? KvHeads { get; init; }

    /// <summary>Head dimension; null for MLA models.</summary>
    public int? HeadDim { get; init; }

    /// <summary>MLA: the compressed KV rank.</summary>
    public int? KvLoraRank { get; init; }

    /// <summary>MLA: the rotary part of the query/key head.</summary>
    public int? QkRopeHeadDim { get; init; }

    /// <summary>The longest context the model supports (max_position_embeddings).</summary>
    public required int ContextLength { get; init; }

    /// <summary>The weights' data type.</summary>
    public required string DType { get; init; }

    /// <summary>The weights' quantisation (fp8, mxfp4, awq, ...), when quantised.</summary>
    public string? Quantization { get; init; }

    /// <summary>Total size of the weight files in GiB.</summary>
    public required double WeightsGiB { get; init; }

    /// <summary>Downloading needs an HF token (a model access secret).</summary>
    public bool Gated { get; init; }

    /// <summary>Deprecated: rejected by the validator.</summary>
    public bool Deprecated { get; init; }

    /// <summary>Runs on CPU nodes (the generated tiny model).</summary>
    public bool CpuOnly { get; init; }

    /// <summary>Inference runtimes that serve the model (<see cref="Runtimes"/>).</summary>
    public IReadOnlyList<string> Runtimes { get; init; } = [];

    /// <summary>Fine-tuning support, when the model can be tuned.</summary>
    public TuningSupport? Tuning { get; init; }

    /// <summary>Extra OS disk for the runtime and caches, added to the weights (KAITO's SystemFileDiskSizeGiB).</summary>
    public const int SystemDiskGiB = 80;

    /// <summary>The node disk an inference pod needs: whole GiB of weights plus <see cref="SystemDiskGiB"/>, as KAITO computes it.</summary>
    public int InferenceDiskGiB => (int)WeightsGiB + SystemDiskGiB;

    /// <summary>KV-cache bytes per token over all layers at 16-bit precision.</summary>
    public long KvCacheBytesPerToken => KvLoraRank is { } rank && QkRopeHeadDim is { } rope
        ? (long)(rank + rope) * Layers * 2
        : 2L * KvHeads!.Value * HeadDim!.Value * Layers * 2;

    /// <summary>Whether <paramref name="runtime"/> (vllm or transformers) serves the model.</summary>
    public bool SupportsRuntime(string runtime) => Runtimes.Contains(runtime, StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the model can be tuned with <paramref name="method"/> (lora or qlora).</summary>
    public bool SupportsTuning(string method) =>
        Tuning is { } tuning && tuning.Methods.Contains(method, StringComparer.OrdinalIgnoreCase);
}
