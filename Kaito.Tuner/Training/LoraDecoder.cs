using Kaito.Models.Decoder;
using Kaito.Models.Lora;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using static TorchSharp.torch;

namespace Kaito.Tuner.Training;

/// <summary>
/// A Llama-family decoder in TorchSharp with frozen base weights and trainable LoRA matrices on the target
/// modules: y = W·x + (alpha/r)·B·A·dropout(x), A initialised as PEFT does (Kaiming-uniform), B at zero so training
/// starts from the base model exactly. Full-sequence forward (training and reference decoding), causal and padding
/// masks, grouped-query attention, rotary embeddings as Hugging Face computes them.
/// </summary>
public sealed class LoraDecoder : IDisposable
{
    private readonly DecoderWeights _weights;
    private readonly Tensor _embeddings;
    private readonly Tensor _finalNorm;
    private readonly Tensor _lmHead;
    private readonly LayerTensors[] _layers;
    private readonly Tensor _cos;
    private readonly Tensor _sin;
    private readonly Dictionary<string, (Tensor A, Tensor B)> _lora = new(StringComparer.Ordinal);

    public LoraDecoder(DecoderWeights weights, int rank, double alpha, double dropout, IReadOnlyCollection<string> targetModules, int seed,
        bool quantize = false, bool doubleQuant = false, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(targetModules);
        _weights = weights;
        Device = device ?? CPU;
        Rank = rank;
        Alpha = alpha;
        Dropout = dropout;
        var c = weights.Config;
        int h = c.HiddenSize, q = c.AttentionHeads * c.HeadDim, kv = c.KeyValueHeads * c.HeadDim, inter = c.IntermediateSize;
        Tensor Matrix(float[] data, long rows, long columns) => tensor(data, [rows, columns], device: Device);
        Tensor Vector(float[] data) => tensor(data, device: Device);
        Weight Linear(float[] data, long rows, long columns) => quantize
            ? new Weight(null, Nf4.Quantize(data, rows, columns, doubleQuant, Device))
            : new Weight(Matrix(data, rows, columns), null);
        _embeddings = Matrix(weights.Embeddings, c.VocabSize, h);
        _finalNorm = Vector(weights.FinalNorm);
        _lmHead = ReferenceEquals(weights.LmHead, weights.Embeddings) ? _embeddings : Matrix(weights.LmHead, c.VocabSize, h);
        _layers = [.. weights.Layers.Select(l => new LayerTensors(
            Vector(l.InputNorm), Vector(l.PostAttentionNorm),
            Linear(l.Q, q, h), Linear(l.K, kv, h), Linear(l.V, kv, h),
            l.QBias is null ? null : Vector(l.QBias), l.KBias is null ? null : Vector(l.KBias), l.VBias is null ? null : Vector(l.VBias),
            Linear(l.O, h, q), Linear(l.Gate, inter, h), Linear(l.Up, inter, h), Linear(l.Down, h, inter)))];
        Quantized = quantize;

        var rotary = RotaryEmbedding.RotaryDimensions(c);
        var (cos, sin) = RotaryEmbedding.Tables(c, c.MaxPositionEmbeddings);
        _cos = Matrix(cos, c.MaxPositionEmbeddings, rotary / 2);
        _sin = Matrix(sin, c.MaxPositionEmbeddings, rotary / 2);

        var generator = new Generator((ulong)seed);
        TargetModules = [.. targetModules];
        foreach (var module in ModulesFor(targetModules, weights.FusedProjections))
        {
            var (outputs, inputs) = Shape(module);
            // PEFT: A ~ Kaiming-uniform(a = √5) = U(-1/√in, 1/√in); B = 0. Drawn on the CPU so a seed gives the same
            // adapter on every device.
            var bound = 1.0 / Math.Sqrt(inputs);
            var a = (rand([Rank, inputs], generator: generator) * (2 * bound) - bound).to(Device).requires_grad_();
            var b = zeros([outputs, Rank], device: Device).requires_grad_();
            _lora[module] = (a, b);
        }

        if (_lora.Count == 0)
        {
            throw new ArgumentException($"LoraConfig.target_modules ({string.Join(", ", targetModules)}) matches no module of this model " +
                $"({string.Join(", ", ModuleNames(weights.FusedProjections))}).", nameof(targetModules));
        }
    }

    public int Rank { get; }

    /// <summary>Where the weights live and the forward pass runs (CPU, or a CUDA device).</summary>
    public Device Device { get; }

    public IReadOnlyList<string> TargetModules { get; }

    /// <summary>Base projections stored as NF4 (QLoRA).</summary>
    public bool Quantized { get; }

    /// <summary>Bytes the base projection matrices take (F32, or NF4 codes and scales).</summary>
    public long BaseProjectionBytes => _layers.Sum(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down }.Sum(w => w.Bytes));

    public double Alpha { get; }

    public double Dropout { get; }

    public double Scale => Alpha / Rank;

    public IReadOnlyDictionary<string, (Tensor A, Tensor B)> Lora => _lora;

    public IEnumerable<Tensor> Parameters => _lora.Values.SelectMany(p => new[] { p.A, p.B });

    public long TrainableParameterCount => Parameters.Sum(p => p.numel());

    /// <summary>Logits [B, T, V] for token ids [B, T]; <paramref name="attentionMask"/> [B, T] marks real tokens with 1.</summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask, bool training)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var c = _weights.Config;
        long batch = ids.shape[0], length = ids.shape[1];
        int heads = c.AttentionHeads, kvHeads = c.KeyValueHeads, d = c.HeadDim;
        var rotary = RotaryEmbedding.RotaryDimensions(c);
        var x = _embeddings.index_select(0, ids.flatten()).view(batch, length, c.HiddenSize);
        var cos = _cos.narrow(0, 0, length);
        var sin = _sin.narrow(0, 0, length);

        var mask = ones(length, length, dtype: ScalarType.Bool, device: Device).tril().logical_not();
        var additive = zeros(length, length, device: Device).masked_fill(mask, float.NegativeInfinity).view(1, 1, length, length);
        if (attentionMask is not null)
        {
            additive = additive + zeros(batch, 1, 1, length, device: Device).masked_fill(attentionMask.view(batch, 1, 1, length).eq(0), -1e9f);
        }

        for (var i = 0; i < _layers.Length; i++)
        {
            var layer = _layers[i];
            var prefix = DecoderTensorNames.Layer(i);
            var normed = RmsNorm(x, layer.InputNorm, c.RmsNormEps);
            var (qDelta, kDelta, vDelta) = FusedDeltas(normed, $"{prefix}.self_attn.qkv_proj", training, heads * d, kvHeads * d, kvHeads * d);
            var q = Add(Project(normed, layer.Q, layer.QBias, $"{prefix}.self_attn.q_proj", training), qDelta).view(batch, length, heads, d).transpose(1, 2);
            var k = Add(Project(normed, layer.K, layer.KBias, $"{prefix}.self_attn.k_proj", training), kDelta).view(batch, length, kvHeads, d).transpose(1, 2);
            var v = Add(Project(normed, layer.V, layer.VBias, $"{prefix}.self_attn.v_proj", training), vDelta).view(batch, length, kvHeads, d).transpose(1, 2);
            q = Rope(q, cos, sin, rotary, d);
            k = Rope(k, cos, sin, rotary, d);
            if (heads != kvHeads)
            {
                k = k.repeat_interleave(heads / kvHeads, dim: 1);
                v = v.repeat_interleave(heads / kvHeads, dim: 1);
            }

            var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(d) + additive;
            var attended = nn.functional.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(batch, length, heads * d);
            x = x + Project(attended, layer.O, null, $"{prefix}.self_attn.o_proj", training);

            var normed2 = RmsNorm(x, layer.PostAttentionNorm, c.RmsNormEps);
            var (gateDelta, upDelta, _) = FusedDeltas(normed2, $"{prefix}.mlp.gate_up_proj", training, c.IntermediateSize, c.IntermediateSize, 0);
            var gate = Add(Project(normed2, layer.Gate, null, $"{prefix}.mlp.gate_proj", training), gateDelta);
            var up = Add(Project(normed2, layer.Up, null, $"{prefix}.mlp.up_proj", training), upDelta);
            x = x + Project(nn.functional.silu(gate) * up, layer.Down, null, $"{prefix}.mlp.down_proj", training);
        }

        return nn.functional.linear(RmsNorm(x, _finalNorm, c.RmsNormEps), _lmHead);
    }

    /// <summary>
    /// Greedy continuation (full recompute each step) up to <paramref name="count"/> tokens or an end-of-sequence
    /// token from config.json, included: the tuner's own reference decode.
    /// </summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int count)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tokens = prompt.ToList();
        using var noGrad = no_grad();
        for (var step = 0; step < count; step++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count], device: Device);
            var logits = Forward(ids, null, training: false);
            var next = (int)logits[0, -1].argmax().item<long>();
            tokens.Add(next);
            if (_weights.Config.EosTokenIds.Contains(next))
            {
                break;
            }
        }

        return tokens.Skip(prompt.Count).ToList();
    }

    /// <summary>The trained adapter in PEFT's layout.</summary>
    public LoraAdapter ToAdapter(string name, IReadOnlyList<string> targetModules, string? baseModel)
    {
        var modules = new Dictionary<string, (Models.Safetensors.Tensor, Models.Safetensors.Tensor)>(StringComparer.Ordinal);
        foreach (var (module, (a, b)) in _lora)
        {
            modules[module] = (ToSafetensor(a), ToSafetensor(b));
        }

        return new LoraAdapter
        {
            Name = name,
            Rank = Rank,
            Alpha = Alpha,
            TargetModules = targetModules,
            BaseModel = baseModel,
            Modules = modules,
        };
    }

    /// <summary>Loads LoRA matrices saved earlier (a checkpoint), by module name.</summary>
    public void Load(LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        using var noGrad = no_grad();
        foreach (var (module, (a, b)) in adapter.Modules)
        {
            if (!_lora.TryGetValue(module, out var pair))
            {
                throw new InvalidDataException($"checkpoint has module '{module}', which this run does not train.");
            }

            pair.A.copy_(tensor(a.ToFloats(), [.. a.Shape], device: Device));
            pair.B.copy_(tensor(b.ToFloats(), [.. b.Shape], device: Device));
        }
    }

    public void Dispose()
    {
        foreach (var (a, b) in _lora.Values)
        {
            a.Dispose();
            b.Dispose();
        }

        foreach (var layer in _layers)
        {
            layer.Dispose();
        }

        _embeddings.Dispose();
        _lmHead.Dispose();
        _finalNorm.Dispose();
        _cos.Dispose();
        _sin.Dispose();
    }

    internal static Models.Safetensors.Tensor ToSafetensor(Tensor value)
    {
        using var detached = value.detach().cpu().contiguous();
        return Models.Safetensors.Tensor.FromFloats(detached.data<float>().ToArray(), [.. detached.shape]);
    }

    private Tensor Project(Tensor x, Weight weight, Tensor? bias, string module, bool training)
    {
        var y = nn.functional.linear(x, weight.Value, bias);
        if (!_lora.TryGetValue(module, out var lora))
        {
            return y;
        }

        var input = training && Dropout > 0 ? nn.functional.dropout(x, Dropout, training: true) : x;
        return y + nn.functional.linear(nn.functional.linear(input, lora.A), lora.B) * Scale;
    }

    /// <summary>
    /// A LoRA on a fused matrix (Phi-3's qkv_proj, gate_up_proj) yields one delta over the stacked outputs; it is cut
    /// into the parts the split projections add.
    /// </summary>
    private (Tensor? First, Tensor? Second, Tensor? Third) FusedDeltas(Tensor x, string module, bool training, long first, long second, long third)
    {
        if (!_lora.TryGetValue(module, out var lora))
        {
            return (null, null, null);
        }

        var input = training && Dropout > 0 ? nn.functional.dropout(x, Dropout, training: true) : x;
        var delta = nn.functional.linear(nn.functional.linear(input, lora.A), lora.B) * Scale;
        return (delta.narrow(-1, 0, first), delta.narrow(-1, first, second), third == 0 ? null : delta.narrow(-1, first + second, third));
    }

    private static Tensor Add(Tensor y, Tensor? delta) => delta is null ? y : y + delta;

    private static Tensor RmsNorm(Tensor x, Tensor weight, double eps)
    {
        var variance = x.pow(2).mean([-1L], keepdim: true);
        return x * rsqrt(variance + eps) * weight;
    }

    private static Tensor Rope(Tensor x, Tensor cos, Tensor sin, int rotary, int headDim)
    {
        var half = rotary / 2;
        var first = x.narrow(-1, 0, half);
        var second = x.narrow(-1, half, half);
        var rotated = cat([first * cos - second * sin, second * cos + first * sin], -1);
        return rotary == headDim ? rotated : cat([rotated, x.narrow(-1, rotary, headDim - rotary)], -1);
    }

    private static string[] ModuleNames(bool fused) => fused
        ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
        : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>
    /// The names of <paramref name="targets"/> this model has no module for. PEFT ignores them as long as one name
    /// matches (KAITO's phi-3 default names k/q/v/gate/up, which Phi-3 stores fused, so only o_proj and down_proj adapt).
    /// </summary>
    public static IReadOnlyList<string> Unmatched(IEnumerable<string> targets, bool fused) => [.. targets.Except(ModuleNames(fused))];

    private IEnumerable<string> ModulesFor(IReadOnlyCollection<string> targets, bool fused)
    {
        var attention = fused ? new[] { "qkv_proj", "o_proj" } : ["q_proj", "k_proj", "v_proj", "o_proj"];
        var mlp = fused ? new[] { "gate_up_proj", "down_proj" } : ["gate_proj", "up_proj", "down_proj"];
        for (var i = 0; i < _layers.Length; i++)
        {
            foreach (var name in attention.Where(targets.Contains))
            {
                yield return $"{DecoderTensorNames.Layer(i)}.self_attn.{name}";
            }

            foreach (var name in mlp.Where(targets.Contains))
            {
                yield return $"{DecoderTensorNames.Layer(i)}.mlp.{name}";
            }
        }
    }

    private (long Outputs, long Inputs) Shape(string module)
    {
        var c = _weights.Config;
        long h = c.HiddenSize, q = c.AttentionHeads * c.HeadDim, kv = c.KeyValueHeads * c.HeadDim, inter = c.IntermediateSize;
        return module[(module.LastIndexOf('.') + 1)..] switch
        {
            "qkv_proj" => (q + (2 * kv), h),
            "gate_up_proj" => (2 * inter, h),
            "q_proj" => (q, h),
            "k_proj" or "v_proj" => (kv, h),
            "o_proj" => (h, q),
            "gate_proj" or "up_proj" => (inter, h),
            "down_proj" => (h, inter),
            _ => throw new ArgumentException($"unknown module {module}", nameof(module)),
        };
    }

    /// <summary>A frozen base matrix, F32 or NF4 (dequantised for each use).</summary>
    private sealed record Weight(Tensor? Full, Nf4? Quantized) : IDisposable
    {
        public Tensor Value => Full ?? Quantized!.Dequantize();

        public long Bytes => Full is null ? Quantized!.StorageBytes : Full.numel() * 4;

        public void Dispose()
        {
            Full?.Dispose();
            Quantized?.Dispose();
        }
    }

    private sealed record LayerTensors(
        Tensor InputNorm, Tensor PostAttentionNorm, Weight Q, Weight K, Weight V, Tensor? QBias, Tensor? KBias, Tensor? VBias,
        Weight O, Weight Gate, Weight Up, Weight Down) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new[] { InputNorm, PostAttentionNorm, QBias, KBias, VBias })
            {
                t?.Dispose();
            }

            foreach (var w in new[] { Q, K, V, O, Gate, Up, Down })
            {
                w.Dispose();
            }
        }
    }
}
