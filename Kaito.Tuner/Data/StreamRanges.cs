namespace Kaito.Tuner.Data;

internal static class StreamRanges
{
    /// <summary>Exactly <paramref name="count"/> bytes from <paramref name="offset"/>; a short stream is an <see cref="EndOfStreamException"/>.</summary>
    public static byte[] ReadRange(this Stream stream, long offset, int count)
    {
        var buffer = new byte[count];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        return buffer;
    }
}
