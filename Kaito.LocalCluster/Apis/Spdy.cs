using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// The server side of SPDY/3.1 framing as Kubernetes streaming uses it (moby/spdystream, what client-go's port-forward
/// and remotecommand speak): control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE)
/// and data frames, over any duplex stream — a WebSocket tunnel (kubectl 1.31+) or an upgraded HTTP/1.1 connection.
/// Header blocks are zlib with SPDY/3's preset dictionary; the client's are inflated through one shared context per
/// session, ours are written as stored (uncompressed) zlib blocks, which any inflater reads. Flow control is not
/// enforced, as spdystream does not enforce it either. Every length read from the peer is bounded.
/// </summary>
internal sealed class SpdySession : IAsyncDisposable
{
    public const ushort Version = 3;
    public const byte FlagFin = 0x01;

    public const ushort SynStream = 1;
    public const ushort SynReply = 2;
    public const ushort RstStream = 3;
    public const ushort Settings = 4;
    public const ushort Ping = 6;
    public const ushort GoAway = 7;
    public const ushort Headers = 8;
    public const ushort WindowUpdate = 9;

    /// <summary>RST_STREAM status codes.</summary>
    public const uint ProtocolError = 1;
    public const uint RefusedStream = 3;
    public const uint Cancel = 5;

    /// <summary>The largest frame accepted (SPDY allows 2^24 - 1 bytes; spdystream sends data in far smaller frames).</summary>
    public const int MaxFrameLength = 1024 * 1024;

    /// <summary>The largest data frame written.</summary>
    public const int MaxDataFrame = 32 * 1024;

    private const int MaxHeaderPairs = 128;
    private const int MaxHeaderBytes = 64 * 1024;

    private readonly Stream _transport;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly HeaderInflater _inflater = new();
    private bool _deflaterStarted;

    public SpdySession(Stream transport) => _transport = transport;

    /// <summary>The next frame, or null when the peer closed the transport.</summary>
    public async Task<SpdyFrame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[8];
        if (!await ReadExactlyOrEndAsync(header, cancellationToken))
        {
            return null;
        }

        var length = (header[5] << 16) | (header[6] << 8) | header[7];
        if (length > MaxFrameLength)
        {
            throw new InvalidDataException($"SPDY frame of {length} bytes exceeds the limit of {MaxFrameLength}");
        }

        var payload = new byte[length];
        if (!await ReadExactlyOrEndAsync(payload, cancellationToken))
        {
            throw new InvalidDataException("the connection ended inside a SPDY frame");
        }

        var flags = header[4];
        if ((header[0] & 0x80) == 0)
        {
            return new SpdyFrame(false, 0, flags, BinaryPrimitives.ReadUInt32BigEndian(header) & 0x7fffffff, payload, null);
        }

        var version = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(header) & 0x7fff);
        if (version != Version)
        {
            throw new InvalidDataException($"SPDY version {version} is not supported (only 3)");
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        switch (type)
        {
            case SynStream when payload.Length >= 10:
                return new SpdyFrame(true, type, flags, StreamId(payload), payload,
                    await _inflater.ReadAsync(payload.AsMemory(10), cancellationToken));
            case SynReply or Headers when payload.Length >= 4:
                return new SpdyFrame(true, type, flags, StreamId(payload), payload, await _inflater.ReadAsync(payload.AsMemory(4), cancellationToken));
            case SynStream or SynReply or Headers:
                throw new InvalidDataException($"SPDY control frame {type} is too short ({payload.Length} bytes)");
            case RstStream or WindowUpdate when payload.Length >= 8:
                return new SpdyFrame(true, type, flags, StreamId(payload), payload, null);
            default:
                return new SpdyFrame(true, type, flags, 0, payload, null);
        }
    }

    /// <summary>SYN_REPLY with the given headers.</summary>
    public async Task ReplyAsync(uint streamId, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        // Header blocks are pieces of one zlib stream: encoded and written in the same turn, so they go out in order.
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var block = EncodeHeaders(headers);
            var payload = new byte[4 + block.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, streamId);
            block.CopyTo(payload, 4);
            await WriteUnlockedAsync(ControlFrame(SynReply, 0, payload), cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task ResetAsync(uint streamId, uint status, CancellationToken cancellationToken)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), status);
        return WriteControlAsync(RstStream, 0, payload, cancellationToken);
    }

    /// <summary>Answers a PING with its own id, as the spec asks.</summary>
    public Task PongAsync(ReadOnlyMemory<byte> ping, CancellationToken cancellationToken) =>
        WriteControlAsync(Ping, 0, ping.ToArray(), cancellationToken);

    public Task GoAwayAsync(uint lastStreamId, CancellationToken cancellationToken)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, lastStreamId);
        return WriteControlAsync(GoAway, 0, payload, cancellationToken);
    }

    /// <summary>Data on a stream, cut into frames; <paramref name="fin"/> half-closes it (an empty frame when there is no data).</summary>
    public async Task WriteDataAsync(uint streamId, ReadOnlyMemory<byte> data, bool fin, CancellationToken cancellationToken)
    {
        do
        {
            var chunk = data[..Math.Min(data.Length, MaxDataFrame)];
            data = data[chunk.Length..];
            var last = data.IsEmpty;
            var frame = new byte[8 + chunk.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame, streamId & 0x7fffffff);
            frame[4] = last && fin ? FlagFin : (byte)0;
            frame[5] = (byte)(chunk.Length >> 16);
            frame[6] = (byte)(chunk.Length >> 8);
            frame[7] = (byte)chunk.Length;
            chunk.CopyTo(frame.AsMemory(8));
            await WriteAsync(frame, cancellationToken);
        }
        while (!data.IsEmpty);
    }

    public async ValueTask DisposeAsync()
    {
        await _inflater.DisposeAsync();
        _writeLock.Dispose();
    }

    private Task WriteControlAsync(ushort type, byte flags, byte[] payload, CancellationToken cancellationToken) =>
        WriteAsync(ControlFrame(type, flags, payload), cancellationToken);

    private static byte[] ControlFrame(ushort type, byte flags, byte[] payload)
    {
        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, 0x8000 | Version);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), type);
        frame[4] = flags;
        frame[5] = (byte)(payload.Length >> 16);
        frame[6] = (byte)(payload.Length >> 8);
        frame[7] = (byte)payload.Length;
        payload.CopyTo(frame, 8);
        return frame;
    }

    private async Task WriteAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await WriteUnlockedAsync(frame, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteUnlockedAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _transport.WriteAsync(frame, cancellationToken);
        await _transport.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// (Under the write lock.) A header block as the next piece of this session's zlib stream: the zlib header before the first block (no preset
    /// dictionary is needed to read stored blocks), then the pairs in one stored, non-final deflate block and a flush.
    /// </summary>
    private byte[] EncodeHeaders(IReadOnlyDictionary<string, string> headers)
    {
        var plain = new MemoryStream();
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, headers.Count);
        plain.Write(number);
        foreach (var (name, value) in headers)
        {
            foreach (var text in new[] { name.ToLowerInvariant(), value })
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length);
                plain.Write(number);
                plain.Write(bytes);
            }
        }

        var block = plain.ToArray();
        var output = new MemoryStream();
        if (!_deflaterStarted)
        {
            // CMF 0x78 (deflate, 32 KiB window), FLG 0x01: no dictionary, check bits making the pair a multiple of 31.
            output.Write([0x78, 0x01]);
            _deflaterStarted = true;
        }

        output.WriteByte(0x00); // BFINAL 0, BTYPE 00 (stored), padded to the byte
        Span<byte> lengths = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(lengths, (ushort)block.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(lengths[2..], (ushort)~block.Length);
        output.Write(lengths);
        output.Write(block);
        // An empty stored block, as zlib's Z_SYNC_FLUSH ends a flush: inflaters (Go's flate) hand out what they hold
        // when they reach it, without reading past the frame for the next block.
        output.Write([0x00, 0x00, 0x00, 0xff, 0xff]);
        return output.ToArray();
    }

    private static uint StreamId(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff;

    private async Task<bool> ReadExactlyOrEndAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _transport.ReadAsync(buffer[read..], cancellationToken);
            if (n == 0)
            {
                return read == 0 ? false : throw new InvalidDataException("the connection ended inside a SPDY frame");
            }

            read += n;
        }

        return true;
    }

    /// <summary>
    /// Inflates the peer's header blocks: one zlib context for the whole session, primed with SPDY/3's dictionary. .NET's
    /// inflater takes no preset dictionary, so the dictionary goes in first as a stored deflate block — the peer's
    /// compressed blocks start on a byte boundary right after it, back-references into it resolve, and its bytes are
    /// skipped from the output.
    /// </summary>
    private sealed class HeaderInflater : IAsyncDisposable
    {
        // No back-pressure: the writer is this same reader, which consumes each block right after writing it (a paused
        // write would wait for itself); blocks are bounded below instead.
        private readonly Pipe _input = new(new PipeOptions(pauseWriterThreshold: 0));
        private DeflateStream? _inflate;
        private int _blockBytes;

        public async Task<Dictionary<string, string>> ReadAsync(ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
        {
            if (block.Length > MaxHeaderBytes)
            {
                throw new InvalidDataException($"SPDY header block of {block.Length} compressed bytes exceeds the limit of {MaxHeaderBytes}");
            }

            if (_inflate is null)
            {
                if (block.Length < 2 || (block.Span[0] & 0x0f) != 8 || ((block.Span[0] << 8) | block.Span[1]) % 31 != 0)
                {
                    throw new InvalidDataException("the SPDY header block is not a zlib stream");
                }

                var withDictionary = (block.Span[1] & 0x20) != 0;
                if (withDictionary && (block.Length < 6 || BinaryPrimitives.ReadUInt32BigEndian(block.Span[2..]) != SpdyDictionary.Adler32))
                {
                    throw new InvalidDataException("the SPDY header block names a preset dictionary other than SPDY/3's");
                }

                block = block[(withDictionary ? 6 : 2)..];
                var prefix = new byte[5 + SpdyDictionary.Bytes.Length];
                prefix[0] = 0x00;
                BinaryPrimitives.WriteUInt16LittleEndian(prefix.AsSpan(1), (ushort)SpdyDictionary.Bytes.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(prefix.AsSpan(3), (ushort)~SpdyDictionary.Bytes.Length);
                SpdyDictionary.Bytes.CopyTo(prefix, 5);
                await _input.Writer.WriteAsync(prefix, cancellationToken);
                _inflate = new DeflateStream(_input.Reader.AsStream(), CompressionMode.Decompress);
                await _inflate.ReadExactlyAsync(new byte[SpdyDictionary.Bytes.Length], cancellationToken);
            }

            await _input.Writer.WriteAsync(block, cancellationToken);
            var count = await IntAsync(cancellationToken);
            if (count is < 0 or > MaxHeaderPairs)
            {
                throw new InvalidDataException($"SPDY header block with {count} pairs (at most {MaxHeaderPairs})");
            }

            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            _blockBytes = 0;
            for (var i = 0; i < count; i++)
            {
                var name = await StringAsync(cancellationToken);
                headers[name] = await StringAsync(cancellationToken);
            }

            return headers;
        }

        public async ValueTask DisposeAsync()
        {
            await _input.Writer.CompleteAsync();
            if (_inflate is not null)
            {
                await _inflate.DisposeAsync();
            }
        }

        private async Task<int> IntAsync(CancellationToken cancellationToken)
        {
            var bytes = new byte[4];
            await _inflate!.ReadExactlyAsync(bytes, cancellationToken);
            return BinaryPrimitives.ReadInt32BigEndian(bytes);
        }

        private async Task<string> StringAsync(CancellationToken cancellationToken)
        {
            var length = await IntAsync(cancellationToken);
            if (length < 0 || length > MaxHeaderBytes - _blockBytes)
            {
                throw new InvalidDataException($"SPDY header block larger than {MaxHeaderBytes} bytes");
            }

            _blockBytes += length;
            var bytes = new byte[length];
            await _inflate!.ReadExactlyAsync(bytes, cancellationToken);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}

/// <summary>One frame: a control frame (its type) or a data frame (its stream); header blocks already inflated.</summary>
internal sealed record SpdyFrame(bool IsControl, ushort Type, byte Flags, uint StreamId, byte[] Payload, Dictionary<string, string>? Headers)
{
    public bool Fin => (Flags & SpdySession.FlagFin) != 0;
}
