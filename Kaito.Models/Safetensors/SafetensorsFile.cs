using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.Models.Json;

namespace Kaito.Models.Safetensors;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets}, "__metadata__": {..}}</c> padded with spaces to a multiple of 8, then the
/// tensors' raw bytes. Reading checks every offset against the file so a truncated or hostile file is refused with
/// the tensor it breaks on rather than read out of bounds.
/// </summary>
public static class SafetensorsFile
{
    private const string MetadataKey = "__metadata__";

    /// <summary>Headers larger than this are refused (the format's reference implementation uses 100 MB).</summary>
    private const long MaxHeaderLength = 100_000_000;

    public static TensorCollection Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        try
        {
            return Read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static TensorCollection Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return ReadChecked(stream);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the file ends early (truncated?).", e);
        }
    }

    private static TensorCollection ReadChecked(Stream stream)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        var size = stream.CanSeek ? stream.Length : long.MaxValue;
        if (headerLength <= 0 || headerLength > MaxHeaderLength || headerLength > size - 8)
        {
            throw new InvalidDataException($"not a safetensors file: header length {headerLength} is out of range.");
        }

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var header = JsonFields.ParseObject(headerBytes, "the safetensors header");
        var entries = new List<(string Name, TensorDType DType, long[] Shape, long Begin, long End)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == MetadataKey)
            {
                if (node is not JsonObject values)
                {
                    throw new InvalidDataException($"{MetadataKey} must be an object of strings.");
                }

                foreach (var (key, _) in values)
                {
                    metadata[key] = JsonFields.Text(values, key, MetadataKey) ?? "";
                }

                continue;
            }

            entries.Add(ParseEntry(name, node));
        }

        var dataStart = 8 + headerLength;
        var available = stream.CanSeek ? stream.Length - dataStart : long.MaxValue;
        var tensors = new TensorCollection(metadata);
        foreach (var entry in entries.OrderBy(e => e.Begin))
        {
            var length = entry.End - entry.Begin;
            long expected;
            try
            {
                expected = checked(Tensor.ElementCountOf(entry.Shape) * TensorDTypes.SizeOf(entry.DType));
            }
            catch (OverflowException)
            {
                throw new InvalidDataException($"tensor '{entry.Name}': shape [{string.Join(", ", entry.Shape)}] is too large.");
            }

            if (length != expected)
            {
                throw new InvalidDataException(
                    $"tensor '{entry.Name}': data_offsets span {length} bytes but a {entry.DType} tensor of shape " +
                    $"[{string.Join(", ", entry.Shape)}] needs {expected}.");
            }

            if (entry.End > available)
            {
                throw new InvalidDataException(
                    $"tensor '{entry.Name}': data ends at byte {entry.End} but the file has {available} data bytes (truncated?).");
            }

            if (length > Array.MaxLength)
            {
                throw new InvalidDataException($"tensor '{entry.Name}': {length} bytes is more than one tensor can hold here.");
            }

            if (stream.CanSeek)
            {
                stream.Position = dataStart + entry.Begin;
            }

            var data = new byte[length];
            stream.ReadExactly(data);
            tensors.Add(entry.Name, new Tensor(entry.DType, entry.Shape, data));
        }

        return tensors;
    }

    public static void Write(string path, TensorCollection tensors)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Written beside the target, flushed and renamed: a crash never leaves a half-written weights file in place.
        DurableFile.Write(path, stream => Write(stream, tensors));
    }

    public static void Write(Stream stream, TensorCollection tensors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        if (tensors.Metadata.Count > 0)
        {
            var metadata = new JsonObject();
            foreach (var (key, value) in tensors.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                metadata[key] = value;
            }

            header[MetadataKey] = metadata;
        }

        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var entry = new JsonObject
            {
                ["dtype"] = TensorDTypes.HeaderName(tensor.DType),
                ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + tensor.Data.LongLength),
            };
            header[name] = entry;
            offset += tensor.Data.LongLength;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, padded);
        stream.Write(lengthBytes);
        stream.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var (_, tensor) in tensors)
        {
            stream.Write(tensor.Data);
        }
    }

    private static (string Name, TensorDType DType, long[] Shape, long Begin, long End) ParseEntry(string name, JsonNode? node)
    {
        try
        {
            var entry = node?.AsObject() ?? throw new InvalidDataException("the entry is null");
            var dtypeName = entry["dtype"]?.GetValue<string>() ?? throw new InvalidDataException("dtype is missing");
            if (!TensorDTypes.TryParse(dtypeName, out var dtype))
            {
                throw new InvalidDataException($"dtype '{dtypeName}' is not supported (F32, F16, BF16, I64, I32, U8 are)");
            }

            var shape = Integers(entry["shape"], "shape");
            var offsets = Integers(entry["data_offsets"], "data_offsets");
            if (shape.Length > 8)
            {
                throw new InvalidDataException($"shape has {shape.Length} dimensions; at most 8 are accepted");
            }

            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || shape.Any(d => d < 0))
            {
                throw new InvalidDataException("data_offsets or shape is invalid");
            }

            return (name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"tensor '{name}': {e.Message}.", e);
        }
    }

    private static long[] Integers(JsonNode? node, string key) => node is JsonArray array
        ? [.. array.Select(d => d is JsonValue value && value.TryGetValue<long>(out var number) ? number : throw new InvalidDataException($"{key} must be a list of integers"))]
        : throw new InvalidDataException($"{key} is missing");
}
