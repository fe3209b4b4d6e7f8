using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Onnx;
using Kaito.Models.Safetensors;
using Kaito.Models.Tokenizers;

namespace Kaito.Models.Tiny;

/// <summary>
/// A tiny random-weight Llama-architecture model, generated so tests and the local dev loop need no download:
/// 2 layers, grouped-query attention (4 query heads over 2 KV heads), a byte-level BPE tokenizer trained on
/// <see cref="TinyCorpus"/>, and a ChatML chat template. Written as a Hugging Face folder (for the tuner) and as an
/// ONNX Runtime GenAI folder exported from it (for the server). The same seed gives byte-identical files.
/// </summary>
public static class TinyModel
{
    /// <summary>Sub-folder with config.json, model.safetensors and tokenizer files.</summary>
    public const string HuggingFaceFolder = "hf";

    /// <summary>Sub-folder with genai_config.json, model.onnx and tokenizer files.</summary>
    public const string OnnxFolder = "onnx";

    public const string ServedName = "kaito-tiny";
    public const int DefaultSeed = 42;

    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    public const string ChatTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}" +
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private const int VocabularySize = 512;
    private const int Hidden = 64;
    private const int Intermediate = 128;
    private const int LayerCount = 2;
    private const int Heads = 4;
    private const int KeyValueHeads = 2;
    private const int ContextLength = 2048;

    /// <summary>Writes both layouts under <paramref name="outputDirectory"/> and returns their paths.</summary>
    public static (string HuggingFace, string Onnx) Generate(string outputDirectory, int seed = DefaultSeed, string architecture = "llama")
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var hf = Path.Combine(outputDirectory, HuggingFaceFolder);
        var onnx = Path.Combine(outputDirectory, OnnxFolder);
        WriteHuggingFace(hf, seed, architecture);
        DecoderOnnxExporter.Export(hf, onnx);
        return (hf, onnx);
    }

    /// <summary>
    /// Writes the Hugging Face layout only. <paramref name="architecture"/> picks the family's tensor layout: llama,
    /// qwen2 (q/k/v biases) or phi3 (fused qkv_proj and gate_up_proj).
    /// </summary>
    public static void WriteHuggingFace(string directory, int seed = DefaultSeed, string architecture = "llama")
    {
        var family = architecture switch
        {
            "llama" => "LlamaForCausalLM",
            "qwen2" => "Qwen2ForCausalLM",
            "phi3" => "Phi3ForCausalLM",
            _ => throw new ArgumentException($"architecture '{architecture}' is not one the tiny model comes in (llama, qwen2, phi3)", nameof(architecture)),
        };
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var tokenizer = BpeTrainer.Train(TinyCorpus.Text, VocabularySize, [EndOfText, ImStart, ImEnd]);
        tokenizer.Save(directory);
        new TokenizerConfig
        {
            TokenizerClass = "GPT2Tokenizer",
            BosToken = EndOfText,
            EosToken = ImEnd,
            PadToken = EndOfText,
            UnkToken = EndOfText,
            ModelMaxLength = ContextLength,
            ChatTemplate = ChatTemplate,
        }.Save(directory);

        var config = new DecoderConfig
        {
            Architectures = [family],
            ModelType = architecture,
            VocabSize = tokenizer.VocabularySize,
            HiddenSize = Hidden,
            IntermediateSize = Intermediate,
            Layers = LayerCount,
            AttentionHeads = Heads,
            KeyValueHeadsValue = KeyValueHeads,
            HeadDimValue = Hidden / Heads,
            MaxPositionEmbeddings = ContextLength,
            RmsNormEps = 1e-5,
            RopeTheta = 10000,
            BosTokenId = tokenizer.IdOf(EndOfText),
            EosTokenIds = [tokenizer.IdOf(ImEnd)!.Value, tokenizer.IdOf(EndOfText)!.Value],
            PadTokenId = tokenizer.IdOf(EndOfText),
            TorchDType = "float32",
        };
        config.Save(directory);
        SafetensorsFile.Write(Path.Combine(directory, "model.safetensors"), RandomWeights(config, seed));
    }

    /// <summary>
    /// Random weights scaled so logits are well separated (std ≈ 3): greedy decoding then does not hinge on rounding,
    /// and batched and unbatched runs pick the same tokens.
    /// </summary>
    public static TensorCollection RandomWeights(DecoderConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        var random = new SeededRandom((ulong)seed);
        int v = config.VocabSize, h = config.HiddenSize, inter = config.IntermediateSize;
        int q = config.AttentionHeads * config.HeadDim, kv = config.KeyValueHeads * config.HeadDim;
        var tensors = new TensorCollection(new Dictionary<string, string> { ["format"] = "pt" });

        void Matrix(string name, int rows, int columns, double std) =>
            tensors.Add(name, Tensor.FromFloats(random.Normal(rows * columns, std), [rows, columns]));
        void Ones(string name) => tensors.Add(name, Tensor.FromFloats(Enumerable.Repeat(1f, h).ToArray(), [h]));

        Matrix(DecoderTensorNames.Embeddings, v, h, 1.0);
        for (var i = 0; i < config.Layers; i++)
        {
            Ones(DecoderTensorNames.InputNorm(i));
            Matrix(DecoderTensorNames.Projection(i, "q"), q, h, 1 / Math.Sqrt(h));
            Matrix(DecoderTensorNames.Projection(i, "k"), kv, h, 1 / Math.Sqrt(h));
            Matrix(DecoderTensorNames.Projection(i, "v"), kv, h, 1 / Math.Sqrt(h));
            Matrix(DecoderTensorNames.Projection(i, "o"), h, q, 1 / Math.Sqrt(q));
            Ones(DecoderTensorNames.PostAttentionNorm(i));
            Matrix(DecoderTensorNames.Mlp(i, "gate"), inter, h, 1 / Math.Sqrt(h));
            Matrix(DecoderTensorNames.Mlp(i, "up"), inter, h, 1 / Math.Sqrt(h));
            Matrix(DecoderTensorNames.Mlp(i, "down"), h, inter, 1 / Math.Sqrt(inter));
        }

        Ones(DecoderTensorNames.FinalNorm);
        Matrix(DecoderTensorNames.LmHead, v, h, 3 / Math.Sqrt(h));
        return config.ModelType switch
        {
            "qwen2" => WithBiases(tensors, config, random),
            "phi3" => Fused(tensors, config),
            _ => tensors,
        };
    }

    /// <summary>Qwen2's q/k/v biases, after the llama tensors so the shared ones stay identical per seed.</summary>
    private static TensorCollection WithBiases(TensorCollection tensors, DecoderConfig config, SeededRandom random)
    {
        int q = config.AttentionHeads * config.HeadDim, kv = config.KeyValueHeads * config.HeadDim;
        for (var i = 0; i < config.Layers; i++)
        {
            foreach (var (projection, size) in new[] { ("q", q), ("k", kv), ("v", kv) })
            {
                tensors.Add(DecoderTensorNames.ProjectionBias(i, projection), Tensor.FromFloats(random.Normal(size, 0.5), [size]));
            }
        }

        return tensors;
    }

    /// <summary>Phi-3's layout: q, k, v stacked in qkv_proj and gate, up in gate_up_proj.</summary>
    private static TensorCollection Fused(TensorCollection tensors, DecoderConfig config)
    {
        var fused = new TensorCollection(tensors.Metadata);
        foreach (var (name, tensor) in tensors)
        {
            for (var i = 0; i < config.Layers; i++)
            {
                if (name == DecoderTensorNames.Projection(i, "q"))
                {
                    fused.Add(DecoderTensorNames.FusedQkv(i), Stack(tensors[name], tensors[DecoderTensorNames.Projection(i, "k")], tensors[DecoderTensorNames.Projection(i, "v")]));
                }
                else if (name == DecoderTensorNames.Mlp(i, "gate"))
                {
                    fused.Add(DecoderTensorNames.FusedGateUp(i), Stack(tensors[name], tensors[DecoderTensorNames.Mlp(i, "up")]));
                }
            }

            var separate = Enumerable.Range(0, config.Layers).Any(i => name == DecoderTensorNames.Projection(i, "q") || name == DecoderTensorNames.Projection(i, "k")
                || name == DecoderTensorNames.Projection(i, "v") || name == DecoderTensorNames.Mlp(i, "gate") || name == DecoderTensorNames.Mlp(i, "up"));
            if (!separate)
            {
                fused.Add(name, tensor);
            }
        }

        return fused;
    }

    private static Tensor Stack(params Tensor[] parts)
    {
        var rows = parts.Sum(p => p.Shape[0]);
        return new Tensor(parts[0].DType, [rows, parts[0].Shape[1]], [.. parts.SelectMany(p => p.Data)]);
    }

    /// <summary>
    /// A random PEFT LoRA adapter for a model folder (q_proj and v_proj of every layer), large enough to change
    /// greedy output: for tests and demos of adapter serving.
    /// </summary>
    public static LoraAdapter RandomAdapter(string huggingFaceDirectory, string name, int seed, int rank = 8, double alpha = 16)
    {
        var config = DecoderConfig.Load(huggingFaceDirectory);
        var random = new SeededRandom((ulong)seed);
        var modules = new Dictionary<string, (Tensor A, Tensor B)>(StringComparer.Ordinal);
        for (var i = 0; i < config.Layers; i++)
        {
            foreach (var (projection, outputs) in new[] { ("q", config.AttentionHeads * config.HeadDim), ("v", config.KeyValueHeads * config.HeadDim) })
            {
                var a = Tensor.FromFloats(random.Normal(rank * config.HiddenSize, 1 / Math.Sqrt(config.HiddenSize)), [rank, config.HiddenSize]);
                var b = Tensor.FromFloats(random.Normal(outputs * rank, 0.5 / Math.Sqrt(rank)), [outputs, rank]);
                modules[$"{DecoderTensorNames.Layer(i)}.self_attn.{projection}_proj"] = (a, b);
            }
        }

        return new LoraAdapter
        {
            Name = name,
            Rank = rank,
            Alpha = alpha,
            TargetModules = ["q_proj", "v_proj"],
            BaseModel = ServedName,
            Modules = modules,
        };
    }
}
