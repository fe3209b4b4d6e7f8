namespace Kaito.Models.Decoder;

/// <summary>One decoder layer's weights; matrices are row-major [out, in] as PyTorch's Linear stores them.</summary>
public sealed class DecoderLayerWeights
{
    public required float[] InputNorm { get; init; }

    public required float[] PostAttentionNorm { get; init; }

    public required float[] Q { get; init; }

    public required float[] K { get; init; }

    public required float[] V { get; init; }

    public float[]? QBias { get; init; }

    public float[]? KBias { get; init; }

    public float[]? VBias { get; init; }

    public required float[] O { get; init; }

    public required float[] Gate { get; init; }

    public required float[] Up { get; init; }

    public required float[] Down { get; init; }
}
