namespace Kaito.Models.Decoder;

/// <summary>Hugging Face tensor names of Llama-family decoders (Llama, Mistral, Qwen2, Phi-3).</summary>
public static class DecoderTensorNames
{
    public const string Embeddings = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    public static string Layer(int layer) => $"model.layers.{layer}";

    public static string InputNorm(int layer) => $"{Layer(layer)}.input_layernorm.weight";

    public static string PostAttentionNorm(int layer) => $"{Layer(layer)}.post_attention_layernorm.weight";

    /// <summary><paramref name="projection"/> is q, k, v or o.</summary>
    public static string Projection(int layer, string projection) => $"{Layer(layer)}.self_attn.{projection}_proj.weight";

    public static string ProjectionBias(int layer, string projection) => $"{Layer(layer)}.self_attn.{projection}_proj.bias";

    /// <summary><paramref name="projection"/> is gate, up or down.</summary>
    public static string Mlp(int layer, string projection) => $"{Layer(layer)}.mlp.{projection}_proj.weight";

    /// <summary>Phi-3 stores q, k and v stacked in one matrix.</summary>
    public static string FusedQkv(int layer) => $"{Layer(layer)}.self_attn.qkv_proj.weight";

    /// <summary>Phi-3 stores gate and up stacked in one matrix.</summary>
    public static string FusedGateUp(int layer) => $"{Layer(layer)}.mlp.gate_up_proj.weight";
}
