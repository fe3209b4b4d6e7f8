using System.Globalization;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Kaito.Tuner.Data;

/// <summary>
/// Reads an Arrow IPC file as rows: the streaming format Hugging Face <c>datasets</c> writes its <c>.arrow</c> cache
/// and <c>save_to_disk</c> files in, or the random-access file format (magic <c>ARROW1</c>). Strings, numbers,
/// booleans, lists and structs become JSON, so a <c>messages</c> column of <c>list&lt;struct&lt;role, content&gt;&gt;</c>
/// reads as OpenAI-style messages. Every column is validated (<see cref="ArrowValidation"/>) before a value is read.
/// </summary>
public static class ArrowRows
{
    private static readonly byte[] FileMagic = "ARROW1"u8.ToArray();

    /// <exception cref="FormatException">The file is not Arrow IPC, is truncated, or holds a type rows cannot take.</exception>
    public static async Task<List<JsonObject>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadRowsAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Apache.Arrow reports a corrupt file with whatever exception its code meets (ArgumentOutOfRange, Overflow,
            // InvalidCast, flatbuffer errors, an absurd length's failed allocation); the validation in ReadRowsAsync keeps
            // it from reading outside its buffers, which no exception handler could catch.
            throw new FormatException(e.Message, e);
        }
    }

    private static async Task<List<JsonObject>> ReadRowsAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        var magic = new byte[FileMagic.Length];
        var isFile = await stream.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken) == magic.Length
            && magic.AsSpan().SequenceEqual(FileMagic);
        stream.Position = 0;
        // Apache.Arrow follows a schema's fields recursively without a bound (a self-referencing field overflows the stack).
        ArrowSchemaCheck.Validate(stream, isFile);
        using var reader = isFile ? new ArrowFileReader(stream, leaveOpen: true) : new ArrowStreamReader(stream, leaveOpen: true);
        var rows = new List<JsonObject>();
        // No honest encoding holds more than eight values a byte (booleans): a file claiming more is refused before its
        // rows are built, rather than spending minutes and gigabytes on them.
        var budget = new ValueBudget(8 * stream.Length + 1024);
        while (await reader.ReadNextRecordBatchAsync(cancellationToken) is { } batch)
        {
            using (batch)
            {
                var fields = batch.Schema.FieldsList;
                if (batch.Length < 0 || batch.ColumnCount != fields.Count)
                {
                    throw new InvalidDataException("a record batch does not match its schema");
                }

                for (var column = 0; column < fields.Count; column++)
                {
                    var data = batch.Column(column).Data;
                    if (data.Length < batch.Length)
                    {
                        throw new InvalidDataException($"column {fields[column].Name} is shorter than its record batch");
                    }

                    ArrowValidation.Validate(data, fields[column].Name);
                }

                for (var row = 0; row < batch.Length; row++)
                {
                    var json = new JsonObject();
                    for (var column = 0; column < fields.Count; column++)
                    {
                        json[fields[column].Name] = ToJson(batch.Column(column), row, budget);
                    }

                    rows.Add(json);
                }
            }
        }

        return reader.Schema is null && rows.Count == 0
            ? throw new FormatException("no Arrow schema found (not an Arrow IPC stream or file)")
            : rows;
    }

    private sealed class ValueBudget(long values)
    {
        public void Spend()
        {
            if (--values < 0)
            {
                throw new InvalidDataException("the file holds more values than its size can encode");
            }
        }
    }

    private static JsonNode? ToJson(IArrowArray array, int index, ValueBudget budget)
    {
        budget.Spend();
        if (array.IsNull(index))
        {
            return null;
        }

        return array switch
        {
            StringArray s => JsonValue.Create(s.GetString(index)),
            LargeStringArray s => JsonValue.Create(s.GetString(index)),
            StringViewArray s => JsonValue.Create(s.GetString(index)),
            BooleanArray b => JsonValue.Create(b.GetValue(index)),
            Int8Array n => JsonValue.Create(n.GetValue(index)),
            Int16Array n => JsonValue.Create(n.GetValue(index)),
            Int32Array n => JsonValue.Create(n.GetValue(index)),
            Int64Array n => JsonValue.Create(n.GetValue(index)),
            UInt8Array n => JsonValue.Create(n.GetValue(index)),
            UInt16Array n => JsonValue.Create(n.GetValue(index)),
            UInt32Array n => JsonValue.Create(n.GetValue(index)),
            UInt64Array n => JsonValue.Create(n.GetValue(index)),
            FloatArray n => JsonValue.Create(n.GetValue(index)),
            DoubleArray n => JsonValue.Create(n.GetValue(index)),
            ListArray list => Items(list.GetSlicedValues(index), budget),
            LargeListArray list => Items(list.GetSlicedValues(index), budget),
            FixedSizeListArray list => Items(list.GetSlicedValues(index), budget),
            StructArray record => Struct(record, index, budget),
            DictionaryArray dictionary => ToJson(dictionary.Dictionary, DictionaryIndex(dictionary.Indices, index), budget),
            _ => throw new NotSupportedException($"Arrow type {array.Data.DataType.Name} is not supported in a dataset column"),
        };
    }

    private static JsonArray Items(IArrowArray values, ValueBudget budget)
    {
        var items = new JsonArray();
        for (var i = 0; i < values.Length; i++)
        {
            items.Add(ToJson(values, i, budget));
        }

        return items;
    }

    private static JsonObject Struct(StructArray record, int index, ValueBudget budget)
    {
        var type = (StructType)record.Data.DataType;
        var json = new JsonObject();
        for (var field = 0; field < type.Fields.Count; field++)
        {
            json[type.Fields[field].Name] = ToJson(record.Fields[field], index, budget);
        }

        return json;
    }

    private static int DictionaryIndex(IArrowArray indices, int index) => indices switch
    {
        Int8Array i => i.GetValue(index)!.Value,
        Int16Array i => i.GetValue(index)!.Value,
        Int32Array i => i.GetValue(index)!.Value,
        Int64Array i => checked((int)i.GetValue(index)!.Value),
        UInt8Array i => i.GetValue(index)!.Value,
        UInt16Array i => i.GetValue(index)!.Value,
        UInt32Array i => checked((int)i.GetValue(index)!.Value),
        _ => throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture, $"Arrow dictionary indices of type {indices.Data.DataType.Name}")),
    };
}
