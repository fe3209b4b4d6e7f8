using System.Buffers.Binary;
using System.Text;
using Kaito.Models.Safetensors;

namespace Kaito.Models.Tests;

public sealed class SafetensorsTests
{
    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void FloatTensorsRoundTripThroughAFile(TensorDType dtype)
    {
        // Values every one of the three types represents exactly.
        float[] values = [0f, 1f, -2f, 0.5f, 1024f, -0.125f];
        var tensors = new TensorCollection(new Dictionary<string, string> { ["format"] = "pt" });
        tensors.Add("a.weight", Tensor.FromFloats(values, [2, 3], dtype));
        tensors.Add("b.bias", Tensor.FromFloats([3f], [1], dtype));
        using var stream = new MemoryStream();

        SafetensorsFile.Write(stream, tensors);
        stream.Position = 0;
        var read = SafetensorsFile.Read(stream);

        Assert.Equal(["a.weight", "b.bias"], read.Names.Order());
        Assert.Equal(dtype, read["a.weight"].DType);
        Assert.Equal([2L, 3L], read["a.weight"].Shape);
        Assert.Equal(values, read["a.weight"].ToFloats());
        Assert.Equal("pt", read.Metadata["format"]);
    }

    [Fact]
    public void HeaderIsPaddedToEightBytes()
    {
        var tensors = new TensorCollection();
        tensors.Add("x", Tensor.FromFloats([1f], [1]));
        using var stream = new MemoryStream();

        SafetensorsFile.Write(stream, tensors);

        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(stream.ToArray());
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 4, stream.Length);
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        var tensor = Tensor.FromFloats([1.00390625f, 1.01171875f], [2], TensorDType.BF16);

        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1); 1 + 3·2^-8 goes up.
        Assert.Equal([1f, 1.015625f], tensor.ToFloats());
    }

    [Fact]
    public void TruncatedFileIsRefusedNamingTheTensor()
    {
        var tensors = new TensorCollection();
        tensors.Add("layer.weight", Tensor.FromFloats(new float[16], [4, 4]));
        using var stream = new MemoryStream();
        SafetensorsFile.Write(stream, tensors);
        var truncated = stream.ToArray()[..^8];

        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new MemoryStream(truncated)));

        Assert.Contains("layer.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}""", "dtype 'Q4' is not supported")]
    [InlineData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "needs 8")]
    [InlineData("""{"t":{"dtype":"F32","data_offsets":[0,4]}}""", "shape is missing")]
    [InlineData("""[1,2]""", "expected a JSON object, found Array")]
    public void InvalidHeaderIsRefusedWithTheReason(string header, string expected)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + 8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, json.Length);
        json.CopyTo(bytes, 8);

        var error = Assert.ThrowsAny<Exception>(() => SafetensorsFile.Read(new MemoryStream(bytes)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImpossibleHeaderLengthIsRefused()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, long.MaxValue);

        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new MemoryStream(bytes)));

        Assert.Contains("not a safetensors file", error.Message, StringComparison.Ordinal);
    }
}
