using System.Buffers.Binary;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Kaito.Tuner.Data;

/// <summary>
/// Checks an Arrow array's buffers against its length, offsets and children before any value is read. Apache.Arrow's
/// C# reader trusts the file: a corrupt offset makes <c>StringArray.GetString</c> read outside its buffer, which is an
/// access violation that ends the process — not an exception anyone can catch. Only the types rows are built from are
/// accepted; others are refused by name.
/// </summary>
internal static class ArrowValidation
{
    public static void Validate(ArrayData data, string column)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length < 0 || data.Offset < 0 || data.NullCount < -1)
        {
            throw Corrupt(column, "a negative length or offset");
        }

        var end = (long)data.Offset + data.Length;
        if (data.NullCount != 0 && data.Buffers.Length > 0 && !data.Buffers[0].IsEmpty && data.Buffers[0].Length < (end + 7) / 8)
        {
            throw Corrupt(column, "a validity bitmap shorter than the array");
        }

        switch (data.DataType)
        {
            case BooleanType:
                Need(data, 1, (end + 7) / 8, column);
                break;
            case FixedWidthType fixedWidth when data.DataType is Int8Type or Int16Type or Int32Type or Int64Type or UInt8Type or UInt16Type or UInt32Type
                or UInt64Type or FloatType or DoubleType:
                Need(data, 1, end * fixedWidth.BitWidth / 8, column);
                break;
            case StringType or BinaryType:
                CheckOffsets(data, end, 4, ValueBytes(data, column), column);
                break;
            case LargeStringType or LargeBinaryType:
                CheckOffsets(data, end, 8, ValueBytes(data, column), column);
                break;
            case ListType:
                CheckOffsets(data, end, 4, Child(data, 0, column).Length, column);
                Validate(data.Children[0], column);
                break;
            case LargeListType:
                CheckOffsets(data, end, 8, Child(data, 0, column).Length, column);
                Validate(data.Children[0], column);
                break;
            case FixedSizeListType fixedList:
                if (fixedList.ListSize <= 0)
                {
                    throw Corrupt(column, "a fixed-size list of no elements");
                }

                if (Child(data, 0, column).Length < end * fixedList.ListSize)
                {
                    throw Corrupt(column, "a fixed-size list longer than its values");
                }

                Validate(data.Children[0], column);
                break;
            case StructType structType:
                if (structType.Fields.Count == 0)
                {
                    // rows of nothing, as many as the header claims, from no bytes at all
                    throw Corrupt(column, "a struct without fields");
                }

                if (data.Children.Length != structType.Fields.Count)
                {
                    throw Corrupt(column, "a struct whose children do not match its fields");
                }

                foreach (var child in data.Children)
                {
                    if (child.Length < end)
                    {
                        throw Corrupt(column, "a struct field shorter than the struct");
                    }

                    Validate(child, column);
                }

                break;
            case DictionaryType dictionaryType:
                var dictionary = data.Dictionary ?? throw Corrupt(column, "a dictionary column without its dictionary");
                Validate(dictionary, column);
                Validate(new ArrayData(dictionaryType.IndexType, data.Length, data.NullCount, data.Offset, data.Buffers), column);
                CheckDictionaryIndices(data, dictionary.Length, column);
                break;
            default:
                throw new NotSupportedException($"Arrow type {data.DataType.Name} is not supported in a dataset column ({column})");
        }
    }

    private static void Need(ArrayData data, int buffer, long bytes, string column)
    {
        if (data.Buffers.Length <= buffer || data.Buffers[buffer].Length < bytes)
        {
            throw Corrupt(column, $"a buffer of {(data.Buffers.Length <= buffer ? 0 : data.Buffers[buffer].Length)} bytes where {bytes} are needed");
        }
    }

    private static long ValueBytes(ArrayData data, string column)
    {
        Need(data, 2, 0, column);
        return data.Buffers[2].Length;
    }

    private static ArrayData Child(ArrayData data, int index, string column) =>
        data.Children.Length > index ? data.Children[index] : throw Corrupt(column, "a nested column without its values");

    /// <summary>Offsets (4 or 8 bytes each) are non-decreasing and within <paramref name="limit"/>.</summary>
    private static void CheckOffsets(ArrayData data, long end, int width, long limit, string column)
    {
        Need(data, 1, (end + 1) * width, column);
        var offsets = data.Buffers[1].Span;
        long previous = -1;
        for (var i = data.Offset; i <= end; i++)
        {
            var value = width == 4 ? BinaryPrimitives.ReadInt32LittleEndian(offsets[(int)(i * 4)..]) : BinaryPrimitives.ReadInt64LittleEndian(offsets[(int)(i * 8)..]);
            if (value < 0 || value > limit || value < previous)
            {
                throw Corrupt(column, $"offset {value} outside its data ({limit})");
            }

            previous = value;
        }
    }

    private static void CheckDictionaryIndices(ArrayData data, int size, string column)
    {
        var indexType = (FixedWidthType)((DictionaryType)data.DataType).IndexType;
        var width = indexType.BitWidth / 8;
        var unsigned = indexType is UInt8Type or UInt16Type or UInt32Type or UInt64Type;
        var values = data.Buffers[1].Span;
        var validity = data.NullCount != 0 && data.Buffers[0].Length > 0 ? data.Buffers[0].Span : default;
        for (var i = data.Offset; i < data.Offset + data.Length; i++)
        {
            if (!validity.IsEmpty && (validity[i / 8] & (1 << (i % 8))) == 0)
            {
                continue; // a null entry's index means nothing
            }

            var at = values[(i * width)..];
            var index = (width, unsigned) switch
            {
                (1, false) => (sbyte)at[0],
                (1, true) => at[0],
                (2, false) => BinaryPrimitives.ReadInt16LittleEndian(at),
                (2, true) => BinaryPrimitives.ReadUInt16LittleEndian(at),
                (4, false) => BinaryPrimitives.ReadInt32LittleEndian(at),
                (4, true) => BinaryPrimitives.ReadUInt32LittleEndian(at),
                (_, false) => BinaryPrimitives.ReadInt64LittleEndian(at),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(at), long.MaxValue),
            };
            if (index < 0 || index >= size)
            {
                throw Corrupt(column, $"dictionary index {index} outside its {size} values");
            }
        }
    }

    private static InvalidDataException Corrupt(string column, string what) => new($"column {column} is corrupt: {what}");
}
