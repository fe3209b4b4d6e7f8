using Google.Protobuf;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Tokenizers;
using Onnx;
using static Kaito.Models.Onnx.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Kaito.Models.Onnx;

/// <summary>
/// Exports a Llama-family decoder (HF safetensors + config.json) as an ONNX Runtime GenAI model folder:
/// <c>model.onnx</c> (standard opset-17 operators only, so the CPU build runs it), <c>genai_config.json</c> and the
/// tokenizer files. The graph takes GenAI's inputs (<c>input_ids</c>, <c>attention_mask</c>, <c>position_ids</c>,
/// <c>past_key_values.{i}.key|value</c>) and returns <c>logits</c> and <c>present.{i}.key|value</c>; the KV cache
/// grows by concatenation, so <c>past_present_share_buffer</c> is off.
/// </summary>
public static class DecoderOnnxExporter
{
    public const string ModelFileName = "model.onnx";
    public const string ExternalDataFileName = "model.onnx.data";

    /// <summary>Above this many weight bytes the initializers go to <see cref="ExternalDataFileName"/>.</summary>
    private const long InlineWeightLimit = 1L << 30;

    private const float MaskValue = -1e9f;

    /// <summary>Exports the HF model in <paramref name="huggingFaceDirectory"/> to <paramref name="outputDirectory"/>.</summary>
    public static void Export(string huggingFaceDirectory, string outputDirectory, int? contextLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(huggingFaceDirectory);
        var weights = DecoderWeights.Load(huggingFaceDirectory);
        Export(weights, huggingFaceDirectory, outputDirectory, contextLength);
    }

    /// <summary>Exports <paramref name="weights"/>; tokenizer files are copied from <paramref name="tokenizerDirectory"/>.</summary>
    public static void Export(DecoderWeights weights, string tokenizerDirectory, string outputDirectory, int? contextLength = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(tokenizerDirectory);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var config = weights.Config;
        var context = Math.Min(contextLength ?? config.MaxPositionEmbeddings, config.MaxPositionEmbeddings);
        Directory.CreateDirectory(outputDirectory);

        var weightBytes = 4L * (weights.Embeddings.LongLength + weights.LmHead.LongLength
            + weights.Layers.Sum(l => (long)l.Q.Length + l.K.Length + l.V.Length + l.O.Length + l.Gate.Length + l.Up.Length + l.Down.Length));
        var builder = new OnnxGraphBuilder("decoder");
        FileStream? external = null;
        if (weightBytes > InlineWeightLimit)
        {
            external = File.Create(Path.Combine(outputDirectory, ExternalDataFileName));
            builder.UseExternalData(external, ExternalDataFileName);
        }

        try
        {
            BuildGraph(builder, weights, context);
            external?.Flush(flushToDisk: true);
        }
        finally
        {
            external?.Dispose();
        }

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Kaito.Models",
            ProducerVersion = typeof(DecoderOnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = builder.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        DurableFile.Write(Path.Combine(outputDirectory, ModelFileName), model.WriteTo);

        var tokenizerConfig = TokenizerConfig.Load(tokenizerDirectory);
        foreach (var file in s_tokenizerFiles)
        {
            var source = Path.Combine(tokenizerDirectory, file);
            if (File.Exists(source))
            {
                DurableFile.WriteAllBytes(Path.Combine(outputDirectory, file), File.ReadAllBytes(source));
            }
        }

        // Last: readers (the server's export cache) take genai_config.json as the sign that the folder is complete.
        GenAiConfig.For(config, tokenizerConfig, BpeTokenizer.Load(tokenizerDirectory), context).Save(outputDirectory);
    }

    private static readonly string[] s_tokenizerFiles = [BpeTokenizer.FileName, TokenizerConfig.FileName, "special_tokens_map.json", "generation_config.json"];

    private static void BuildGraph(OnnxGraphBuilder g, DecoderWeights weights, int context)
    {
        var c = weights.Config;
        int h = c.HiddenSize, heads = c.AttentionHeads, kvHeads = c.KeyValueHeads, d = c.HeadDim;
        var group = heads / kvHeads;

        g.Input("input_ids", DataType.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", DataType.Int64, "batch_size", "total_sequence_length");
        g.Input("position_ids", DataType.Int64, "batch_size", "sequence_length");
        for (var i = 0; i < c.Layers; i++)
        {
            g.Input($"past_key_values.{i}.key", DataType.Float, "batch_size", kvHeads.ToString(System.Globalization.CultureInfo.InvariantCulture), "past_sequence_length", d.ToString(System.Globalization.CultureInfo.InvariantCulture));
            g.Input($"past_key_values.{i}.value", DataType.Float, "batch_size", kvHeads.ToString(System.Globalization.CultureInfo.InvariantCulture), "past_sequence_length", d.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        g.Output("logits", DataType.Float, "batch_size", "sequence_length", c.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        for (var i = 0; i < c.Layers; i++)
        {
            g.Output($"present.{i}.key", DataType.Float, "batch_size", kvHeads.ToString(System.Globalization.CultureInfo.InvariantCulture), "total_sequence_length", d.ToString(System.Globalization.CultureInfo.InvariantCulture));
            g.Output($"present.{i}.value", DataType.Float, "batch_size", kvHeads.ToString(System.Globalization.CultureInfo.InvariantCulture), "total_sequence_length", d.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var embeddings = g.Floats("model.embed_tokens.weight", weights.Embeddings, c.VocabSize, h);
        var x = g.Node("Gather", [embeddings, "input_ids"], Attribute("axis", 0L));

        // Rotary tables indexed by position: [B, 1, S, rotary / 2] so they broadcast over heads.
        var rotary = RotaryEmbedding.RotaryDimensions(c);
        var (cosTable, sinTable) = RotaryEmbedding.Tables(c, context);
        var cos = g.Node("Unsqueeze", [g.Node("Gather", [g.Floats("rotary.cos", cosTable, context, rotary / 2), "position_ids"]), g.Int64Vector(1)]);
        var sin = g.Node("Unsqueeze", [g.Node("Gather", [g.Floats("rotary.sin", sinTable, context, rotary / 2), "position_ids"]), g.Int64Vector(1)]);

        var mask = BuildMask(g);
        var scale = g.Float(1f / MathF.Sqrt(d));
        var eps = g.Float((float)c.RmsNormEps);

        for (var i = 0; i < c.Layers; i++)
        {
            var layer = weights.Layers[i];
            var prefix = DecoderTensorNames.Layer(i);
            var normed = RmsNorm(g, x, g.Floats($"{prefix}.input_layernorm.weight", layer.InputNorm, h), eps);

            string Heads(float[] weight, float[]? bias, string name, int count)
            {
                var projected = Linear(g, normed, weight, bias, $"{prefix}.self_attn.{name}_proj", count * d, h);
                var split = g.Node("Reshape", [projected, g.Int64Vector(0, 0, count, d)]);
                return g.Node("Transpose", [split], Ints("perm", 0L, 2L, 1L, 3L));
            }

            var q = Rope(g, Heads(layer.Q, layer.QBias, "q", heads), cos, sin, rotary, d);
            var k = Rope(g, Heads(layer.K, layer.KBias, "k", kvHeads), cos, sin, rotary, d);
            var v = Heads(layer.V, layer.VBias, "v", kvHeads);

            var keys = g.Node("Concat", [$"past_key_values.{i}.key", k], [$"present.{i}.key"], Attribute("axis", 2L))[0];
            var values = g.Node("Concat", [$"past_key_values.{i}.value", v], [$"present.{i}.value"], Attribute("axis", 2L))[0];

            // Grouped-query attention without copying K/V: queries [B, kvH, group, S, D] against keys [B, kvH, 1, T, D].
            var grouped = g.Node("Reshape", [q, g.Int64Vector(0, kvHeads, group, -1, d)]);
            var keys5 = g.Node("Unsqueeze", [keys, g.Int64Vector(2)]);
            var values5 = g.Node("Unsqueeze", [values, g.Int64Vector(2)]);
            var scores = g.Node("Mul", [g.Node("MatMul", [grouped, g.Node("Transpose", [keys5], Ints("perm", 0L, 1L, 2L, 4L, 3L))]), scale]);
            var probabilities = g.Node("Softmax", [g.Node("Add", [scores, mask])], Attribute("axis", -1L));
            var attended = g.Node("MatMul", [probabilities, values5]);
            var merged = g.Node("Reshape", [
                g.Node("Transpose", [g.Node("Reshape", [attended, g.Int64Vector(0, heads, -1, d)])], Ints("perm", 0L, 2L, 1L, 3L)),
                g.Int64Vector(0, 0, heads * d)]);
            x = g.Node("Add", [x, Linear(g, merged, layer.O, null, $"{prefix}.self_attn.o_proj", h, heads * d)]);

            var normed2 = RmsNorm(g, x, g.Floats($"{prefix}.post_attention_layernorm.weight", layer.PostAttentionNorm, h), eps);
            var gate = Linear(g, normed2, layer.Gate, null, $"{prefix}.mlp.gate_proj", c.IntermediateSize, h);
            var up = Linear(g, normed2, layer.Up, null, $"{prefix}.mlp.up_proj", c.IntermediateSize, h);
            var activated = g.Node("Mul", [g.Node("Mul", [gate, g.Node("Sigmoid", [gate])]), up]);
            x = g.Node("Add", [x, Linear(g, activated, layer.Down, null, $"{prefix}.mlp.down_proj", h, c.IntermediateSize)]);
        }

        var final = RmsNorm(g, x, g.Floats("model.norm.weight", weights.FinalNorm, h), eps);
        g.Node("MatMul", [final, g.Floats("lm_head.weight", Transpose(weights.LmHead, c.VocabSize, h), h, c.VocabSize)], ["logits"]);
    }

    /// <summary>
    /// Additive attention mask [B, 1, 1, S, T]: a query at absolute position P + s sees keys up to that position
    /// (causal) and only keys whose attention_mask is 1 (padding).
    /// </summary>
    private static string BuildMask(OnnxGraphBuilder g)
    {
        var sequence = g.Node("Gather", [g.Node("Shape", ["input_ids"]), g.Int64Scalar(1)], Attribute("axis", 0L));
        var total = g.Node("Gather", [g.Node("Shape", ["attention_mask"]), g.Int64Scalar(1)], Attribute("axis", 0L));
        var past = g.Node("Sub", [total, sequence]);
        var zero = g.Int64Scalar(0);
        var one = g.Int64Scalar(1);
        var rows = g.Node("Unsqueeze", [g.Node("Add", [g.Node("Range", [zero, sequence, one]), past]), g.Int64Vector(1)]);
        var columns = g.Node("Unsqueeze", [g.Node("Range", [zero, total, one]), g.Int64Vector(0)]);
        var causal = g.Node("Where", [g.Node("Greater", [columns, rows]), g.Float(MaskValue), g.Float(0f)]);
        var keep = g.Node("Cast", ["attention_mask"], Attribute("to", (long)DataType.Float));
        var padding = g.Node("Mul", [g.Node("Sub", [g.Float(1f), keep]), g.Float(MaskValue)]);
        return g.Node("Add", [causal, g.Node("Unsqueeze", [padding, g.Int64Vector(1, 2, 3)])]);
    }

    private static string RmsNorm(OnnxGraphBuilder g, string x, string weight, string eps)
    {
        var meanSquare = g.Node("ReduceMean", [g.Node("Mul", [x, x])], Ints("axes", -1L), Attribute("keepdims", 1L));
        var normalised = g.Node("Div", [x, g.Node("Sqrt", [g.Node("Add", [meanSquare, eps])])]);
        return g.Node("Mul", [normalised, weight]);
    }

    /// <summary>y = x·Wᵀ (+ b), with W stored transposed as [in, out] so MatMul needs no Transpose at run time.</summary>
    private static string Linear(OnnxGraphBuilder g, string x, float[] weight, float[]? bias, string name, int outputs, int inputs)
    {
        var y = g.Node("MatMul", [x, g.Floats($"{name}.weight", Transpose(weight, outputs, inputs), inputs, outputs)]);
        return bias is null ? y : g.Node("Add", [y, g.Floats($"{name}.bias", bias, outputs)]);
    }

    /// <summary>HF's rotate-half rotary embedding on the first <paramref name="rotary"/> dimensions of each head.</summary>
    private static string Rope(OnnxGraphBuilder g, string x, string cos, string sin, int rotary, int headDim)
    {
        var half = rotary / 2;
        var sizes = rotary == headDim ? g.Int64Vector(half, half) : g.Int64Vector(half, half, headDim - rotary);
        var parts = g.Node("Split", [x, sizes], [.. Enumerable.Range(0, rotary == headDim ? 2 : 3).Select(_ => g.Fresh("split"))],
            Attribute("axis", -1L));
        var first = parts[0];
        var second = parts[1];
        var rotatedFirst = g.Node("Sub", [g.Node("Mul", [first, cos]), g.Node("Mul", [second, sin])]);
        var rotatedSecond = g.Node("Add", [g.Node("Mul", [second, cos]), g.Node("Mul", [first, sin])]);
        IReadOnlyList<string> pieces = rotary == headDim ? [rotatedFirst, rotatedSecond] : [rotatedFirst, rotatedSecond, parts[2]];
        return g.Node("Concat", pieces, Attribute("axis", -1L));
    }

    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var col = 0; col < columns; col++)
            {
                result[(col * rows) + r] = matrix[(r * columns) + col];
            }
        }

        return result;
    }
}
