using System.Buffers.Binary;

namespace Kaito.Tuner.Data;

/// <summary>
/// Checks a parquet file's structure before Parquet.Net reads it: the magic bytes, the footer length, and every Thrift
/// structure the reader will decode — the footer (FileMetaData) and each column chunk's page headers — walked with
/// bounds (each list no longer than the bytes left, nesting at most 64 deep, each structure ending inside its own
/// bytes). Parquet.Net's Thrift reader trusts the file: a corrupt footer made it loop for ever at full CPU, which no
/// exception reports. Only the structure is checked here; values are Parquet.Net's to decode.
/// </summary>
internal static class ParquetStructure
{
    private const int MaxDepth = 64;
    private static readonly byte[] Magic = "PAR1"u8.ToArray();

    private const int MaxFooterBytes = 64 * 1024 * 1024;
    private const int MaxPageHeaderBytes = 16 * 1024 * 1024;

    /// <exception cref="InvalidDataException">The structure is broken; the message says where.</exception>
    public static void Validate(Stream file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var length = file.Length;
        if (length < 12 || !file.ReadRange(0, 4).AsSpan().SequenceEqual(Magic) || !file.ReadRange(length - 4, 4).AsSpan().SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a parquet file (the PAR1 magic is missing at its start or end)");
        }

        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.ReadRange(length - 8, 4));
        if (footerLength <= 0 || footerLength > length - 12 || footerLength > MaxFooterBytes)
        {
            throw new InvalidDataException($"the footer length {footerLength} does not fit the file's {length} bytes");
        }

        var footerStart = length - 8 - footerLength;
        var chunks = new List<(long Start, long Length)>();
        new Reader(file.ReadRange(footerStart, footerLength), "the footer").FileMetaData(chunks);
        foreach (var (start, size) in chunks)
        {
            if (start < 4 || size < 0 || start + size > footerStart)
            {
                throw new InvalidDataException($"a column chunk at byte {start} ({size} bytes) lies outside the data");
            }

            for (var offset = start; offset < start + size;)
            {
                var (headerLength, pageSize) = PageHeaderAt(file, offset, start + size);
                if (pageSize < 0 || pageSize > start + size - offset - headerLength)
                {
                    throw new InvalidDataException($"the page at byte {offset} claims {pageSize} bytes beyond its column chunk");
                }

                offset += headerLength + pageSize;
            }
        }

        file.Position = 0;
    }

    /// <summary>Walks the page header at <paramref name="offset"/>: a small window first, a larger one when it needs more.</summary>
    private static (int HeaderLength, int PageSize) PageHeaderAt(Stream file, long offset, long end)
    {
        for (var window = 64 * 1024; ; window *= 16)
        {
            var bytes = file.ReadRange(offset, (int)Math.Min(window, end - offset));
            var reader = new Reader(bytes, $"the page header at byte {offset}");
            try
            {
                var pageSize = reader.PageHeader();
                return (reader.Position, pageSize);
            }
            catch (InvalidDataException) when (reader.RanOut && bytes.Length == window && window < MaxPageHeaderBytes)
            {
                // a header with large statistics: look again with more of the chunk
            }
        }
    }

    /// <summary>A bounded walk of Thrift's compact protocol over one span.</summary>
    private sealed class Reader(byte[] bytes, string what)
    {
        private readonly byte[] _bytes = bytes;
        private readonly string _what = what;

        public int Position { get; private set; }

        /// <summary>Whether the walk failed for want of bytes (rather than on a broken value).</summary>
        public bool RanOut { get; private set; }

        /// <summary>FileMetaData, noting each column chunk's page range (ColumnMetaData 7, 9, 11).</summary>
        public void FileMetaData(List<(long Start, long Length)> chunks)
        {
            Struct(0, (id, type) =>
            {
                if (id == 4 && type == 9)
                {
                    // row_groups: list<RowGroup>
                    ListOf(1, rowGroup => Struct(rowGroup, (rgId, rgType) =>
                    {
                        if (rgId == 1 && rgType == 9)
                        {
                            // columns: list<ColumnChunk>
                            ListOf(rowGroup + 1, column => Struct(column, (ccId, ccType) =>
                            {
                                if (ccId == 3 && ccType == 12)
                                {
                                    long? size = null, data = null, dictionary = null;
                                    Struct(column + 1, (cmId, cmType) =>
                                    {
                                        switch (cmId, cmType)
                                        {
                                            case (7, 6):
                                                size = ZigZag(VarInt());
                                                return true;
                                            case (9, 6):
                                                data = ZigZag(VarInt());
                                                return true;
                                            case (11, 6):
                                                dictionary = ZigZag(VarInt());
                                                return true;
                                            default:
                                                return false;
                                        }
                                    });
                                    if (size is { } length && (dictionary ?? data) is { } start)
                                    {
                                        chunks.Add((start, length));
                                    }

                                    return true;
                                }

                                return false;
                            }));
                            return true;
                        }

                        return false;
                    }));
                    return true;
                }

                return false;
            });
        }

        /// <summary>A PageHeader; returns its compressed_page_size (field 3).</summary>
        public int PageHeader()
        {
            long size = -1;
            Struct(0, (id, type) =>
            {
                if (id == 3 && type == 5)
                {
                    size = ZigZag(VarInt());
                    return true;
                }

                return false;
            });
            return size is >= 0 and <= int.MaxValue ? (int)size : throw Broken("a page header without a valid compressed size");
        }

        private delegate bool FieldHandler(short id, int type);

        private delegate void ElementHandler(int depth);

        /// <summary>Fields until STOP; <paramref name="field"/> reads the ones it knows and returns true, others are skipped.</summary>
        private void Struct(int depth, FieldHandler field)
        {
            if (depth > MaxDepth)
            {
                throw Broken($"nesting deeper than {MaxDepth}");
            }

            short last = 0;
            while (true)
            {
                var header = Byte();
                if (header == 0)
                {
                    return;
                }

                var type = header & 0x0F;
                var delta = header >> 4;
                var id = delta == 0 ? (short)ZigZag(VarInt()) : (short)(last + delta);
                last = id;
                if (!field(id, type))
                {
                    Skip(type, depth, inList: false);
                }
            }
        }

        private void ListOf(int depth, ElementHandler element)
        {
            var header = Byte();
            var size = (long)(header >> 4);
            if (size == 15)
            {
                size = VarInt();
            }

            if (size > _bytes.Length - Position)
            {
                throw Broken($"a list of {size} elements in {_bytes.Length - Position} bytes");
            }

            var type = header & 0x0F;
            for (var i = 0; i < size; i++)
            {
                if (type == 12)
                {
                    element(depth);
                }
                else
                {
                    Skip(type, depth, inList: true);
                }
            }
        }

        private void Skip(int type, int depth, bool inList)
        {
            switch (type)
            {
                case 1 or 2:
                    // a struct field's boolean lives in its header; a list's takes a byte
                    if (inList)
                    {
                        Byte();
                    }

                    break;
                case 3:
                    Byte();
                    break;
                case 4 or 5 or 6:
                    VarInt();
                    break;
                case 7:
                    Take(8);
                    break;
                case 8:
                    Take(VarInt());
                    break;
                case 9 or 10:
                    ListOf(depth + 1, d => Struct(d, (_, _) => false));
                    break;
                case 11:
                    var size = VarInt();
                    if (size == 0)
                    {
                        break;
                    }

                    if (size * 2 > _bytes.Length - Position)
                    {
                        throw Broken($"a map of {size} entries in {_bytes.Length - Position} bytes");
                    }

                    var kinds = Byte();
                    for (var i = 0; i < size; i++)
                    {
                        SkipElement(kinds >> 4, depth);
                        SkipElement(kinds & 0x0F, depth);
                    }

                    break;
                case 12:
                    Struct(depth + 1, (_, _) => false);
                    break;
                case 13:
                    Take(16); // UUID, in newer Thrift
                    break;
                default:
                    throw Broken($"an unknown Thrift type {type}");
            }
        }

        private void SkipElement(int type, int depth)
        {
            if (type == 12)
            {
                Struct(depth + 1, (_, _) => false);
            }
            else
            {
                Skip(type, depth, inList: true);
            }
        }

        private byte Byte()
        {
            if (Position < _bytes.Length)
            {
                return _bytes[Position++];
            }

            RanOut = true;
            throw Broken("it ends early");
        }

        private void Take(long count)
        {
            if (count < 0 || count > _bytes.Length - Position)
            {
                RanOut = count >= 0;
                throw Broken($"a value of {count} bytes with {_bytes.Length - Position} left");
            }

            Position += (int)count;
        }

        private long VarInt()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return (long)value;
                }
            }

            throw Broken("a variable-length integer longer than 10 bytes");
        }

        private static long ZigZag(long value) => (long)((ulong)value >> 1) ^ -(value & 1);

        private InvalidDataException Broken(string problem) => new($"{_what} is corrupt at byte {Position}: {problem}");
    }
}
