namespace Kaito.Models.Safetensors;

/// <summary>Element types a safetensors file can hold, named as the format's header names them.</summary>
public enum TensorDType
{
    F32,
    F16,
    BF16,
    I64,
    I32,
    U8,
}

/// <summary>Element sizes and header names of <see cref="TensorDType"/>.</summary>
public static class TensorDTypes
{
    public static int SizeOf(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.I64 => 8,
        TensorDType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown tensor element type."),
    };

    public static string HeaderName(TensorDType dtype) => dtype.ToString();

    public static bool TryParse(string name, out TensorDType dtype) => Enum.TryParse(name, ignoreCase: false, out dtype)
        && Enum.IsDefined(dtype);
}
