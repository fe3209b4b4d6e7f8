using Kaito.Models.HuggingFace;

namespace Kaito.Models.Decoder;

/// <summary>
/// Rotary position embedding tables as Hugging Face computes them (F32 inverse frequencies, angle = position ×
/// frequency in F32), including Llama 3's frequency scaling. Other scaling schemes are refused with their name.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>Dimensions of each head that rotate (all of them unless <c>partial_rotary_factor</c> says otherwise).</summary>
    public static int RotaryDimensions(DecoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var factor = config.Extra is not null && config.Extra.TryGetValue("partial_rotary_factor", out var value)
            ? value.GetDouble()
            : 1.0;
        var dims = (int)(config.HeadDim * factor);
        return dims - (dims % 2);
    }

    public static float[] InverseFrequencies(DecoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var dims = RotaryDimensions(config);
        var inverse = new float[dims / 2];
        for (var j = 0; j < inverse.Length; j++)
        {
            var exponent = (float)(2 * j) / dims;
            inverse[j] = 1.0f / MathF.Pow((float)config.RopeTheta, exponent);
        }

        var scaling = config.RopeScaling;
        var type = scaling?["rope_type"]?.GetValue<string>() ?? scaling?["type"]?.GetValue<string>();
        switch (type)
        {
            case null or "default":
                break;
            case "llama3":
                ApplyLlama3(inverse, scaling!);
                break;
            default:
                throw new NotSupportedException(
                    $"config.json: rope_scaling type '{type}' is not supported yet (default and llama3 are).");
        }

        return inverse;
    }

    /// <summary>cos and sin tables, each [positions, rotaryDims / 2].</summary>
    public static (float[] Cos, float[] Sin) Tables(DecoderConfig config, int positions)
    {
        var inverse = InverseFrequencies(config);
        var cos = new float[positions * inverse.Length];
        var sin = new float[positions * inverse.Length];
        for (var p = 0; p < positions; p++)
        {
            for (var j = 0; j < inverse.Length; j++)
            {
                var angle = p * inverse[j];
                cos[(p * inverse.Length) + j] = MathF.Cos(angle);
                sin[(p * inverse.Length) + j] = MathF.Sin(angle);
            }
        }

        return (cos, sin);
    }

    private static void ApplyLlama3(float[] inverse, System.Text.Json.Nodes.JsonObject scaling)
    {
        var factor = scaling["factor"]!.GetValue<double>();
        var low = scaling["low_freq_factor"]!.GetValue<double>();
        var high = scaling["high_freq_factor"]!.GetValue<double>();
        var original = scaling["original_max_position_embeddings"]!.GetValue<double>();
        var lowWavelength = original / low;
        var highWavelength = original / high;
        for (var j = 0; j < inverse.Length; j++)
        {
            var wavelength = 2 * Math.PI / inverse[j];
            if (wavelength > lowWavelength)
            {
                inverse[j] = (float)(inverse[j] / factor);
            }
            else if (wavelength >= highWavelength)
            {
                var smooth = ((original / wavelength) - low) / (high - low);
                inverse[j] = (float)(((1 - smooth) * inverse[j] / factor) + (smooth * inverse[j]));
            }
        }
    }
}
