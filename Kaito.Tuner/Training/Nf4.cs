using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Kaito.Tuner.Training;

/// <summary>
/// QLoRA's 4-bit NormalFloat storage for frozen base matrices: blocks of 64 values scaled by their absolute maximum,
/// each value the nearest of the 16 NF4 levels (the quantiles of a normal distribution, as bitsandbytes defines
/// them), two codes per byte with the first in the high nibble. Dequantised on the fly in the forward pass, so the
/// base model takes about an eighth of its F32 memory.
/// With double quantisation (<c>bnb_4bit_use_double_quant</c>) the per-block scales are stored in 8 bits too: their
/// mean is subtracted and each group of 256 scales is quantised linearly against its own absolute maximum (bitsandbytes
/// uses a dynamic 8-bit map here; a linear one is simpler and its error, at most 1/254 of a group's spread, is far below
/// NF4's own). That takes the scales from 0.5 to about 0.127 bits per weight.
/// </summary>
public sealed class Nf4 : IDisposable
{
    public const int BlockSize = 64;

    /// <summary>Scales per group when they are quantised again.</summary>
    public const int ScaleGroupSize = 256;

    private static readonly float[] Levels =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236328f, 1.0f,
    ];

    private readonly Tensor _codes;
    private readonly Scales _scales;
    private readonly Tensor _levels;
    private readonly long[] _shape;

    private Nf4(Tensor codes, Scales scales, long[] shape, Device device)
    {
        _codes = codes;
        _scales = scales;
        _shape = shape;
        _levels = tensor(Levels, device: device);
    }

    /// <summary>Bytes held: packed codes plus the block scales (F32, or 8-bit with one F32 per group).</summary>
    public long StorageBytes => _codes.numel() + _scales.Bytes;

    /// <summary>Whether the block scales are stored in 8 bits.</summary>
    public bool DoubleQuantized => _scales is QuantizedScales;

    public static Nf4 Quantize(float[] values, long rows, long columns, bool doubleQuant = false, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        device ??= CPU;
        var count = values.Length;
        var blocks = (count + BlockSize - 1) / BlockSize;
        var absmax = new float[blocks];
        var packed = new byte[(count + 1) / 2];
        for (var block = 0; block < blocks; block++)
        {
            var start = block * BlockSize;
            var end = Math.Min(count, start + BlockSize);
            var max = 0f;
            for (var i = start; i < end; i++)
            {
                max = Math.Max(max, Math.Abs(values[i]));
            }

            absmax[block] = max;
            for (var i = start; i < end; i++)
            {
                var code = Nearest(max == 0 ? 0 : values[i] / max);
                packed[i / 2] |= (byte)(i % 2 == 0 ? code << 4 : code);
            }
        }

        Scales scales = doubleQuant ? QuantizedScales.Create(absmax, device) : new FullScales(tensor(absmax, device: device));
        return new Nf4(tensor(packed, device: device), scales, [rows, columns], device);
    }

    /// <summary>The F32 matrix the codes stand for.</summary>
    public Tensor Dequantize()
    {
        var high = _codes.bitwise_right_shift(4);
        var low = _codes.bitwise_and(15);
        var codes = stack([high, low], 1).flatten().to_type(ScalarType.Int64);
        var count = _shape[0] * _shape[1];
        var values = _levels.index_select(0, codes.narrow(0, 0, count));
        var padded = count % BlockSize == 0 ? values : cat([values, zeros(BlockSize - (count % BlockSize), device: values.device)]);
        var scaled = padded.view(-1, BlockSize) * _scales.Dequantize().view(-1, 1);
        return scaled.flatten().narrow(0, 0, count).view(_shape);
    }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
        _levels.Dispose();
    }

    private static int Nearest(float value)
    {
        var best = 0;
        for (var i = 1; i < Levels.Length; i++)
        {
            if (Math.Abs(Levels[i] - value) < Math.Abs(Levels[best] - value))
            {
                best = i;
            }
        }

        return best;
    }

    private abstract class Scales : IDisposable
    {
        public abstract long Bytes { get; }

        /// <summary>One F32 scale per block.</summary>
        public abstract Tensor Dequantize();

        public abstract void Dispose();
    }

    private sealed class FullScales(Tensor absmax) : Scales
    {
        public override long Bytes => absmax.numel() * 4;

        public override Tensor Dequantize() => absmax;

        public override void Dispose() => absmax.Dispose();
    }

    /// <summary>Block scales as int8 around their mean, one F32 factor per group of <see cref="ScaleGroupSize"/>.</summary>
    private sealed class QuantizedScales(Tensor codes, Tensor factors, float mean, int count) : Scales
    {
        public override long Bytes => codes.numel() + (factors.numel() * 4) + 4;

        public static QuantizedScales Create(float[] absmax, Device device)
        {
            var mean = absmax.Length == 0 ? 0f : (float)absmax.Average(a => (double)a);
            var groups = (absmax.Length + ScaleGroupSize - 1) / ScaleGroupSize;
            var codes = new sbyte[absmax.Length];
            var factors = new float[groups];
            for (var group = 0; group < groups; group++)
            {
                var start = group * ScaleGroupSize;
                var end = Math.Min(absmax.Length, start + ScaleGroupSize);
                var spread = 0f;
                for (var i = start; i < end; i++)
                {
                    spread = Math.Max(spread, Math.Abs(absmax[i] - mean));
                }

                factors[group] = spread / 127f;
                for (var i = start; i < end; i++)
                {
                    codes[i] = spread == 0 ? (sbyte)0 : (sbyte)Math.Round((absmax[i] - mean) / spread * 127f);
                }
            }

            return new QuantizedScales(tensor(codes, device: device), tensor(factors, device: device), mean, absmax.Length);
        }

        public override Tensor Dequantize() =>
            (codes.to_type(ScalarType.Float32) * factors.repeat_interleave(ScaleGroupSize).narrow(0, 0, count)) + mean;

        public override void Dispose()
        {
            codes.Dispose();
            factors.Dispose();
        }
    }
}
