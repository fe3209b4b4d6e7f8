using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Kaito.Models.Safetensors;

/// <summary>
/// One named tensor: element type, shape and little-endian raw data. Floating-point tensors convert to and from
/// <see cref="float"/> so callers can work in F32 whatever the file stores.
/// </summary>
public sealed class Tensor
{
    public Tensor(TensorDType dtype, IReadOnlyList<long> shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        var expected = checked(ElementCountOf(shape) * TensorDTypes.SizeOf(dtype));
        if (data.LongLength != expected)
        {
            throw new ArgumentException(
                $"A {dtype} tensor of shape [{string.Join(", ", shape)}] needs {expected} bytes, got {data.LongLength}.",
                nameof(data));
        }

        DType = dtype;
        Shape = [.. shape];
        Data = data;
    }

    public TensorDType DType { get; }

    public IReadOnlyList<long> Shape { get; }

    /// <summary>Raw little-endian element data.</summary>
    public byte[] Data { get; }

    public long ElementCount => ElementCountOf(Shape);

    public static long ElementCountOf(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var dim in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(shape));
            count = checked(count * dim);
        }

        return count;
    }

    /// <summary>An F32 tensor holding <paramref name="values"/>, or the same values stored as <paramref name="dtype"/>.</summary>
    public static Tensor FromFloats(ReadOnlySpan<float> values, IReadOnlyList<long> shape, TensorDType dtype = TensorDType.F32)
    {
        var data = new byte[values.Length * TensorDTypes.SizeOf(dtype)];
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(data);
                if (!BitConverter.IsLittleEndian)
                {
                    throw new PlatformNotSupportedException("Safetensors are little-endian; big-endian hosts are not supported.");
                }

                break;
            case TensorDType.F16:
                for (var i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), (Half)values[i]);
                }

                break;
            case TensorDType.BF16:
                for (var i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), FloatToBFloat16(values[i]));
                }

                break;
            default:
                throw new ArgumentException($"{dtype} is not a floating-point type.", nameof(dtype));
        }

        return new Tensor(dtype, shape, data);
    }

    /// <summary>The elements as F32 (F16 and BF16 widened exactly).</summary>
    public float[] ToFloats()
    {
        var count = checked((int)ElementCount);
        var result = new float[count];
        switch (DType)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(Data).CopyTo(result);
                break;
            case TensorDType.F16:
                for (var i = 0; i < count; i++)
                {
                    result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(Data.AsSpan(i * 2));
                }

                break;
            case TensorDType.BF16:
                for (var i = 0; i < count; i++)
                {
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(i * 2)) << 16);
                }

                break;
            default:
                throw new InvalidOperationException($"A {DType} tensor has no floating-point values.");
        }

        return result;
    }

    /// <summary>Rounds to nearest even, as PyTorch does when it casts to bfloat16; NaN stays NaN.</summary>
    private static ushort FloatToBFloat16(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }

        var bits = (uint)BitConverter.SingleToInt32Bits(value);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
