namespace Kaito.AppHost.Tests;

/// <summary>
/// Just enough of the protobuf wire format to read OTLP export requests: iterates a message's fields and hands back
/// length-delimited payloads, so the test can look inside without a generated OTLP model.
/// </summary>
internal static class ProtobufReader
{
    public static IEnumerable<(int Field, ReadOnlyMemory<byte> Payload)> LengthDelimited(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message.Span, ref position);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    ReadVarint(message.Span, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message.Span, ref position);
                    yield return (field, message.Slice(position, length));
                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7} at byte {position}.");
            }
        }
    }

    public static IEnumerable<ReadOnlyMemory<byte>> Fields(ReadOnlyMemory<byte> message, int field) =>
        LengthDelimited(message).Where(f => f.Field == field).Select(f => f.Payload);

    public static string? String(ReadOnlyMemory<byte> message, int field) =>
        Fields(message, field).Select(p => System.Text.Encoding.UTF8.GetString(p.Span)).FirstOrDefault();

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("Malformed protobuf varint.");
    }
}
