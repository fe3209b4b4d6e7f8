using Kaito.Models.Decoder;

namespace Kaito.Testing;

/// <summary>
/// A deliberately plain forward pass of a Llama-family decoder over HF weights (double accumulation, no KV cache,
/// no batching): the independent oracle that the ONNX export, the GenAI engine, the LoRA merge and the tuner are
/// checked against.
/// </summary>
public sealed class ReferenceDecoder(DecoderWeights weights)
{
    private readonly DecoderWeights _w = weights;

    /// <summary>Greedy continuation of <paramref name="prompt"/> by <paramref name="count"/> tokens.</summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int count)
    {
        var tokens = prompt.ToList();
        var generated = new List<int>();
        for (var step = 0; step < count; step++)
        {
            var logits = LastLogits(tokens);
            var best = 0;
            for (var v = 1; v < logits.Length; v++)
            {
                if (logits[v] > logits[best])
                {
                    best = v;
                }
            }

            generated.Add(best);
            tokens.Add(best);
        }

        return generated;
    }

    /// <summary>Logits for the token after <paramref name="tokens"/>.</summary>
    public double[] LastLogits(IReadOnlyList<int> tokens)
    {
        var c = _w.Config;
        int h = c.HiddenSize, d = c.HeadDim, heads = c.AttentionHeads, kvHeads = c.KeyValueHeads, n = tokens.Count;
        var group = heads / kvHeads;
        var inverse = RotaryEmbedding.InverseFrequencies(c);
        var rotary = RotaryEmbedding.RotaryDimensions(c);

        var x = new double[n][];
        for (var t = 0; t < n; t++)
        {
            x[t] = [.. _w.Embeddings.AsSpan(tokens[t] * h, h).ToArray().Select(f => (double)f)];
        }

        foreach (var layer in _w.Layers)
        {
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (var t = 0; t < n; t++)
            {
                var normed = RmsNorm(x[t], layer.InputNorm, c.RmsNormEps);
                q[t] = Rotate(Linear(normed, layer.Q, layer.QBias, heads * d), t, heads, d, rotary, inverse);
                k[t] = Rotate(Linear(normed, layer.K, layer.KBias, kvHeads * d), t, kvHeads, d, rotary, inverse);
                v[t] = Linear(normed, layer.V, layer.VBias, kvHeads * d);
            }

            for (var t = 0; t < n; t++)
            {
                var attended = new double[heads * d];
                for (var head = 0; head < heads; head++)
                {
                    var kvHead = head / group;
                    var scores = new double[t + 1];
                    var max = double.NegativeInfinity;
                    for (var s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (var i = 0; i < d; i++)
                        {
                            dot += q[t][(head * d) + i] * k[s][(kvHead * d) + i];
                        }

                        scores[s] = dot / Math.Sqrt(d);
                        max = Math.Max(max, scores[s]);
                    }

                    double sum = 0;
                    for (var s = 0; s <= t; s++)
                    {
                        scores[s] = Math.Exp(scores[s] - max);
                        sum += scores[s];
                    }

                    for (var s = 0; s <= t; s++)
                    {
                        for (var i = 0; i < d; i++)
                        {
                            attended[(head * d) + i] += scores[s] / sum * v[s][(kvHead * d) + i];
                        }
                    }
                }

                var output = Linear(attended, layer.O, null, h);
                for (var i = 0; i < h; i++)
                {
                    x[t][i] += output[i];
                }

                var normed = RmsNorm(x[t], layer.PostAttentionNorm, c.RmsNormEps);
                var gate = Linear(normed, layer.Gate, null, c.IntermediateSize);
                var up = Linear(normed, layer.Up, null, c.IntermediateSize);
                for (var i = 0; i < gate.Length; i++)
                {
                    gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                }

                var down = Linear(gate, layer.Down, null, h);
                for (var i = 0; i < h; i++)
                {
                    x[t][i] += down[i];
                }
            }
        }

        return Linear(RmsNorm(x[n - 1], _w.FinalNorm, c.RmsNormEps), _w.LmHead, null, c.VocabSize);
    }

    private static double[] RmsNorm(double[] x, float[] weight, double eps)
    {
        var mean = x.Sum(value => value * value) / x.Length;
        var scale = 1 / Math.Sqrt(mean + eps);
        return [.. x.Select((value, i) => value * scale * weight[i])];
    }

    private static double[] Linear(double[] x, float[] weight, float[]? bias, int outputs)
    {
        var result = new double[outputs];
        for (var o = 0; o < outputs; o++)
        {
            double sum = bias?[o] ?? 0;
            var row = weight.AsSpan(o * x.Length, x.Length);
            for (var i = 0; i < x.Length; i++)
            {
                sum += row[i] * x[i];
            }

            result[o] = sum;
        }

        return result;
    }

    private static double[] Rotate(double[] x, int position, int heads, int headDim, int rotary, float[] inverse)
    {
        var half = rotary / 2;
        for (var head = 0; head < heads; head++)
        {
            var offset = head * headDim;
            for (var j = 0; j < half; j++)
            {
                var angle = position * (double)inverse[j];
                double cos = Math.Cos(angle), sin = Math.Sin(angle);
                double first = x[offset + j], second = x[offset + j + half];
                x[offset + j] = (first * cos) - (second * sin);
                x[offset + j + half] = (second * cos) + (first * sin);
            }
        }

        return x;
    }
}
