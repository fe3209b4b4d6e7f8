using Kaito.Models.HuggingFace;
using Kaito.Models.Safetensors;

namespace Kaito.Models.Decoder;

/// <summary>
/// The weights of a decoder-only transformer in one shape whatever the family stored: per layer q/k/v/o, gate/up/down
/// as row-major [out, in] F32 matrices (Phi-3's fused <c>qkv_proj</c> and <c>gate_up_proj</c> split), optional q/k/v
/// biases (Qwen2), norms, embeddings and the LM head (the embeddings when tied).
/// </summary>
public sealed class DecoderWeights
{
    private DecoderWeights(DecoderConfig config, float[] embeddings, float[] finalNorm, float[] lmHead, DecoderLayerWeights[] layers, bool fused)
    {
        FusedProjections = fused;
        Config = config;
        Embeddings = embeddings;
        FinalNorm = finalNorm;
        LmHead = lmHead;
        Layers = layers;
    }

    public DecoderConfig Config { get; }

    /// <summary>[vocab, hidden].</summary>
    public float[] Embeddings { get; }

    public float[] FinalNorm { get; }

    /// <summary>[vocab, hidden].</summary>
    public float[] LmHead { get; }

    public IReadOnlyList<DecoderLayerWeights> Layers { get; }

    /// <summary>The file stored q/k/v as <c>qkv_proj</c> and gate/up as <c>gate_up_proj</c> (Phi-3); adapters then name those.</summary>
    public bool FusedProjections { get; }

    /// <summary>Reads every <c>*.safetensors</c> file of a Hugging Face model folder (sharded or not).</summary>
    public static TensorCollection ReadTensors(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var files = Directory.GetFiles(modelDirectory, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            throw new FileNotFoundException($"{modelDirectory} has no *.safetensors weights.");
        }

        var all = new TensorCollection();
        foreach (var file in files)
        {
            foreach (var (name, tensor) in SafetensorsFile.Read(file))
            {
                all.Add(name, tensor);
            }
        }

        return all;
    }

    public static DecoderWeights Load(string modelDirectory) =>
        From(DecoderConfig.Load(modelDirectory), ReadTensors(modelDirectory), modelDirectory);

    public static DecoderWeights From(DecoderConfig config, TensorCollection tensors, string source = "weights")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        var h = config.HiddenSize;
        var kv = config.KeyValueHeads * config.HeadDim;
        var q = config.AttentionHeads * config.HeadDim;
        var inter = config.IntermediateSize;

        float[] Get(string name, params long[] shape)
        {
            if (!tensors.TryGet(name, out var tensor))
            {
                throw new InvalidDataException($"{source}: tensor '{name}' is missing.");
            }

            if (!tensor.Shape.SequenceEqual(shape))
            {
                throw new InvalidDataException(
                    $"{source}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], config.json implies [{string.Join(", ", shape)}].");
            }

            return tensor.ToFloats();
        }

        float[]? Optional(string name, params long[] shape) => tensors.Contains(name) ? Get(name, shape) : null;

        var fusedQkv = tensors.Contains(DecoderTensorNames.FusedQkv(0));
        var layers = new DecoderLayerWeights[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            float[] wq, wk, wv, wgate, wup;
            if (fusedQkv)
            {
                var qkv = Get(DecoderTensorNames.FusedQkv(i), q + (2 * kv), h);
                wq = qkv[..(q * h)];
                wk = qkv[(q * h)..((q + kv) * h)];
                wv = qkv[((q + kv) * h)..];
                var gateUp = Get(DecoderTensorNames.FusedGateUp(i), 2 * inter, h);
                wgate = gateUp[..(inter * h)];
                wup = gateUp[(inter * h)..];
            }
            else
            {
                wq = Get(DecoderTensorNames.Projection(i, "q"), q, h);
                wk = Get(DecoderTensorNames.Projection(i, "k"), kv, h);
                wv = Get(DecoderTensorNames.Projection(i, "v"), kv, h);
                wgate = Get(DecoderTensorNames.Mlp(i, "gate"), inter, h);
                wup = Get(DecoderTensorNames.Mlp(i, "up"), inter, h);
            }

            layers[i] = new DecoderLayerWeights
            {
                InputNorm = Get(DecoderTensorNames.InputNorm(i), h),
                PostAttentionNorm = Get(DecoderTensorNames.PostAttentionNorm(i), h),
                Q = wq,
                K = wk,
                V = wv,
                QBias = Optional(DecoderTensorNames.ProjectionBias(i, "q"), q),
                KBias = Optional(DecoderTensorNames.ProjectionBias(i, "k"), kv),
                VBias = Optional(DecoderTensorNames.ProjectionBias(i, "v"), kv),
                O = Get(DecoderTensorNames.Projection(i, "o"), h, q),
                Gate = wgate,
                Up = wup,
                Down = Get(DecoderTensorNames.Mlp(i, "down"), h, inter),
            };
        }

        var embeddings = Get(DecoderTensorNames.Embeddings, config.VocabSize, h);
        var lmHead = tensors.Contains(DecoderTensorNames.LmHead) && !config.TieWordEmbeddings
            ? Get(DecoderTensorNames.LmHead, config.VocabSize, h)
            : embeddings;
        return new DecoderWeights(config, embeddings, Get(DecoderTensorNames.FinalNorm, h), lmHead, layers, fusedQkv);
    }
}
