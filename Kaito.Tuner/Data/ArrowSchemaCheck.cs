using System.Buffers.Binary;

namespace Kaito.Tuner.Data;

/// <summary>
/// Verifies an Arrow IPC file's framing before Apache.Arrow reads it, which trusts it: each message's metadata and body
/// lie inside the file (Apache.Arrow allocates what a message claims, up to 2 GB, before reading), the file format's
/// blocks too, and the schema's flatbuffer — every offset inside its buffer and the tree of fields (a field's children
/// are fields) at most 64 deep with no table visited twice. A crafted file whose field lists itself as its own child
/// overflowed the stack in Apache.Arrow, which ends the process without an exception.
/// </summary>
internal static class ArrowSchemaCheck
{
    private const int MaxDepth = 64;
    private const int MaxFields = 100_000;
    private const int MaxMetadataBytes = 64 * 1024 * 1024;

    /// <exception cref="InvalidDataException">The schema's flatbuffer is broken; the message says how.</exception>
    public static void Validate(Stream stream, bool isFile)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var length = stream.Length;
        var end = length;
        if (isFile)
        {
            if (length < 18)
            {
                throw new InvalidDataException("the Arrow file is too short to hold its footer");
            }

            var footerLength = BinaryPrimitives.ReadInt32LittleEndian(stream.ReadRange(length - 10, 4));
            if (footerLength <= 0 || footerLength > length - 18 || footerLength > MaxMetadataBytes)
            {
                throw new InvalidDataException($"the Arrow footer length {footerLength} does not fit the file");
            }

            end = length - 10 - footerLength;
            // Footer { version: short, schema: Schema, dictionaries: [Block], recordBatches: [Block] }
            var footer = new Buffer(stream.ReadRange(end, footerLength), "the Arrow footer");
            var root = footer.Root();
            if (footer.Field(root, 1) is { } schema)
            {
                footer.Schema(footer.Reference(schema));
            }

            foreach (var blocks in new[] { footer.Field(root, 2), footer.Field(root, 3) })
            {
                if (blocks is { } vector)
                {
                    footer.Blocks(footer.Reference(vector), end);
                }
            }
        }

        Messages(stream, isFile ? 8 : 0, end);
        stream.Position = 0;
    }

    /// <summary>
    /// Every message of the stream part: its metadata and body inside the file (Apache.Arrow allocates what a message
    /// claims before it reads), and the first message's schema checked.
    /// </summary>
    private static void Messages(Stream stream, long start, long end)
    {
        var first = true;
        for (var at = start; at + 4 <= end;)
        {
            var metadataLength = BinaryPrimitives.ReadInt32LittleEndian(stream.ReadRange(at, 4));
            if (metadataLength == -1)
            {
                if (at + 8 > end)
                {
                    return;
                }

                at += 4;
                metadataLength = BinaryPrimitives.ReadInt32LittleEndian(stream.ReadRange(at, 4));
            }

            if (metadataLength == 0)
            {
                return; // end of stream
            }

            if (metadataLength < 0 || metadataLength > end - at - 4 || metadataLength > MaxMetadataBytes)
            {
                throw new InvalidDataException($"an Arrow message at byte {at} claims {metadataLength} bytes of metadata beyond the file");
            }

            // Message { version: short, header_type: ubyte, header: MessageHeader, bodyLength: long, ... }; type 1 is Schema.
            var message = new Buffer(stream.ReadRange(at + 4, metadataLength), $"the Arrow message at byte {at}");
            var root = message.Root();
            var bodyLength = message.Field(root, 3) is { } body ? message.Long(body) : 0;
            if (bodyLength < 0 || bodyLength > end - at - 4 - metadataLength)
            {
                throw new InvalidDataException($"an Arrow message at byte {at} claims a body of {bodyLength} bytes beyond the file");
            }

            if (message.Field(root, 1) is { } type && message.Field(root, 2) is { } header)
            {
                switch (message.Byte(type))
                {
                    case 1 when first:
                        message.Schema(message.Reference(header));
                        break;
                    case 2:
                        // DictionaryBatch { id: long, data: RecordBatch, isDelta: bool }
                        var dictionary = message.Reference(header);
                        if (message.Field(dictionary, 1) is { } data)
                        {
                            message.RecordBatch(message.Reference(data));
                        }

                        break;
                    case 3:
                        message.RecordBatch(message.Reference(header));
                        break;
                }
            }

            first = false;
            at += 4 + metadataLength + bodyLength;
        }
    }

    private sealed class Buffer(byte[] bytes, string what)
    {
        private readonly HashSet<int> _visited = [];
        private int _fields;

        public int Root() => Reference(0);

        /// <summary>Schema { endianness, fields: [Field], custom_metadata: [KeyValue], features: [long] }.</summary>
        public void Schema(int table)
        {
            Table(table);
            if (Field(table, 1) is { } fields)
            {
                Fields(Reference(fields), 0);
            }

            Metadata(table, 2);
            Vector(table, 3, 8);
        }

        /// <summary>
        /// RecordBatch { length: long, nodes: [FieldNode], buffers: [Buffer], compression, variadicBufferCounts: [long] }:
        /// Apache.Arrow sizes its arrays by these vectors' counts before it reads them.
        /// </summary>
        public void RecordBatch(int table)
        {
            Table(table);
            Vector(table, 1, 16);
            Vector(table, 2, 16);
            Vector(table, 4, 8);
        }

        /// <summary>A table's vector field of fixed-size elements fits the buffer; returns its start or null.</summary>
        private int? Vector(int table, int index, int elementSize)
        {
            if (Field(table, index) is not { } field)
            {
                return null;
            }

            var vector = Reference(field);
            var count = Int(vector);
            return count >= 0 && count <= (bytes.Length - vector - 4) / elementSize ? vector : throw Broken($"a list of {count} elements that does not fit");
        }

        /// <summary>custom_metadata: [KeyValue { key: string, value: string }].</summary>
        private void Metadata(int table, int index)
        {
            if (Vector(table, index, 4) is not { } vector)
            {
                return;
            }

            for (var i = 0; i < Int(vector); i++)
            {
                var pair = Reference(vector + 4 + (i * 4));
                Table(pair);
                Text(pair, 0);
                Text(pair, 1);
            }
        }

        /// <summary>A table's string field fits the buffer.</summary>
        private void Text(int table, int index)
        {
            if (Field(table, index) is { } field)
            {
                var text = Reference(field);
                var length = Int(text);
                if (length < 0 || length > bytes.Length - text - 4)
                {
                    throw Broken($"a string of {length} bytes that does not fit");
                }
            }
        }

        /// <summary>A vector of Field tables, each checked with its children (Field's field 5).</summary>
        private void Fields(int vector, int depth)
        {
            if (depth > MaxDepth)
            {
                throw Broken($"fields nested deeper than {MaxDepth}");
            }

            var count = Int(vector);
            if (count < 0 || count > (bytes.Length - vector - 4) / 4)
            {
                throw Broken($"a list of {count} fields that does not fit");
            }

            for (var i = 0; i < count; i++)
            {
                var field = Reference(vector + 4 + (i * 4));
                if (!_visited.Add(field) || ++_fields > MaxFields)
                {
                    throw Broken(_fields > MaxFields ? $"more than {MaxFields} fields" : "a field that contains itself");
                }

                Table(field);
                Text(field, 0);
                Metadata(field, 6);
                if (Field(field, 5) is { } children)
                {
                    Fields(Reference(children), depth + 1);
                }
            }
        }

        /// <summary>A vector of Block structs (offset: long, metaDataLength: int, bodyLength: long), each inside the data.</summary>
        public void Blocks(int vector, long end)
        {
            var count = Int(vector);
            if (count < 0 || count > (bytes.Length - vector - 4) / 24)
            {
                throw Broken($"a list of {count} blocks that does not fit");
            }

            for (var i = 0; i < count; i++)
            {
                var block = vector + 4 + (i * 24);
                var (offset, metadata, body) = (Long(block), Int(block + 8), Long(block + 16));
                if (offset < 8 || metadata < 0 || body < 0 || offset > end - metadata - body)
                {
                    throw Broken($"a block at byte {offset} ({metadata} + {body} bytes) outside the data");
                }
            }
        }

        public long Long(int position) =>
            position >= 0 && position + 8 <= bytes.Length ? BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(position)) : throw Broken("a value outside the buffer");

        /// <summary>The position of a table's field <paramref name="index"/>, or null when absent.</summary>
        public int? Field(int table, int index)
        {
            var vtable = Table(table);
            var vtableSize = UShort(vtable);
            var slot = 4 + (index * 2);
            if (slot + 2 > vtableSize)
            {
                return null;
            }

            var offset = UShort(vtable + slot);
            if (offset == 0)
            {
                return null;
            }

            var position = table + offset;
            return position + 4 <= bytes.Length ? position : throw Broken("a field outside the buffer");
        }

        /// <summary>Follows the unsigned offset stored at <paramref name="position"/>.</summary>
        public int Reference(int position)
        {
            var target = (long)position + (uint)Int(position);
            return target + 4 <= bytes.Length ? (int)target : throw Broken("an offset outside the buffer");
        }

        public byte Byte(int position) => position < bytes.Length ? bytes[position] : throw Broken("a value outside the buffer");

        /// <summary>Checks a table's vtable and returns its position.</summary>
        private int Table(int table)
        {
            var vtable = (long)table - Int(table);
            if (vtable < 0 || vtable + 4 > bytes.Length)
            {
                throw Broken("a table whose vtable lies outside the buffer");
            }

            var size = UShort((int)vtable);
            return size >= 4 && size % 2 == 0 && vtable + size <= bytes.Length ? (int)vtable : throw Broken("a broken vtable");
        }

        private int Int(int position) =>
            position >= 0 && position + 4 <= bytes.Length ? BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position)) : throw Broken("a value outside the buffer");

        private int UShort(int position) =>
            position >= 0 && position + 2 <= bytes.Length ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(position)) : throw Broken("a value outside the buffer");

        private InvalidDataException Broken(string problem) => new($"{what} is corrupt: {problem}");
    }
}
