using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Kaito.Tuner.Training;

/// <summary>
/// QLoRA's 4-bit NormalFloat storage for frozen base matrices: blocks of 64 values scaled by their absolute maximum,
/// each value the nearest of the 16 NF4 levels (the quantiles of a normal distribution, as bitsandbytes defines
/// them), two codes per byte with the first in the high nibble. Dequantised on the fly in the forward pass, so the
/// base model takes an eighth of its F32 memory.
/// </summary>
public sealed class Nf4 : IDisposable
{
    public const int BlockSize = 64;

    private static readonly float[] Levels =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236328f, 1.0f,
    ];

    private readonly Tensor _codes;
    private readonly Tensor _absmax;
    private readonly Tensor _levels;
    private readonly long[] _shape;

    private Nf4(Tensor codes, Tensor absmax, long[] shape)
    {
        _codes = codes;
        _absmax = absmax;
        _shape = shape;
        _levels = tensor(Levels);
    }

    /// <summary>Bytes held: packed codes plus one F32 scale per block.</summary>
    public long StorageBytes => _codes.numel() + (_absmax.numel() * 4);

    public static Nf4 Quantize(float[] values, long rows, long columns)
    {
        ArgumentNullException.ThrowIfNull(values);
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

        return new Nf4(tensor(packed), tensor(absmax), [rows, columns]);
    }

    /// <summary>The F32 matrix the codes stand for.</summary>
    public Tensor Dequantize()
    {
        var high = _codes.bitwise_right_shift(4);
        var low = _codes.bitwise_and(15);
        var codes = stack([high, low], 1).flatten().to_type(ScalarType.Int64);
        var count = _shape[0] * _shape[1];
        var values = _levels.index_select(0, codes.narrow(0, 0, count));
        var padded = count % BlockSize == 0 ? values : cat([values, zeros(BlockSize - (count % BlockSize))]);
        var scaled = padded.view(-1, BlockSize) * _absmax.view(-1, 1);
        return scaled.flatten().narrow(0, 0, count).view(_shape);
    }

    public void Dispose()
    {
        _codes.Dispose();
        _absmax.Dispose();
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
}
