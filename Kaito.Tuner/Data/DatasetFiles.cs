using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace Kaito.Tuner.Data;

/// <summary>
/// Finds and reads the training data: parquet, json (an array or JSON lines), jsonl, csv and arrow, as HF's
/// <c>load_dataset</c> would pick them (extension by substring, first match under the data folder). Every row becomes
/// a JSON object; a file that cannot be read is an error naming it.
/// </summary>
public static class DatasetFiles
{
    private static readonly string[] Extensions = ["parquet", "jsonl", "json", "csv", "arrow"];

    public static string Find(string dataDirectory, string? datasetPath, string? extension)
    {
        if (!string.IsNullOrWhiteSpace(datasetPath))
        {
            var path = Path.IsPathRooted(datasetPath) ? datasetPath : Path.Combine(dataDirectory, datasetPath);
            return File.Exists(path) ? path : throw new InvalidDataException($"DatasetConfig.dataset_path {path} does not exist");
        }

        if (!Directory.Exists(dataDirectory))
        {
            throw new InvalidDataException($"data folder {dataDirectory} does not exist");
        }

        var files = Directory.GetFiles(dataDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var match = files.FirstOrDefault(f => KindOf(f, extension) is not null);
        return match ?? throw new InvalidDataException(files.Count == 0
            ? $"data folder {dataDirectory} is empty"
            : $"no dataset file in {dataDirectory}: found {string.Join(", ", files.Select(Path.GetFileName).Take(5))}; expected .parquet, .json, .jsonl, .csv or .arrow");
    }

    public static async Task<List<JsonObject>> ReadAsync(string path, string? extension, List<string> warnings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(warnings);
        var kind = KindOf(path, extension)
            ?? throw new InvalidDataException($"{path}: unknown dataset extension; expected parquet, json, jsonl, csv or arrow");
        try
        {
            return kind switch
            {
                "parquet" => await ReadParquetAsync(path, cancellationToken),
                "jsonl" => ReadJsonLines(path, warnings),
                "json" => ReadJson(path, warnings),
                "csv" => ReadCsv(path),
                "arrow" => await ArrowRows.ReadAsync(path, cancellationToken),
                _ => throw new InvalidDataException($"{path}: {kind} datasets are not supported; use parquet, jsonl, json, csv or arrow"),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException and not InvalidDataException)
        {
            // The readers (Parquet.Net's Thrift decoder among them) report a corrupt file with whatever exception they meet.
            throw new InvalidDataException($"{path}: cannot read as {kind}: {e.Message}", e);
        }
    }

    private static string? KindOf(string path, string? extension)
    {
        var name = Path.GetFileName(path).ToLowerInvariant();
        if (!string.IsNullOrWhiteSpace(extension))
        {
            return name.Contains(extension.TrimStart('.').ToLowerInvariant(), StringComparison.Ordinal) ? Normalise(extension) : null;
        }

        return Extensions.FirstOrDefault(e => name.EndsWith("." + e, StringComparison.Ordinal));

        static string Normalise(string ext) => ext.TrimStart('.').ToLowerInvariant();
    }

    private static async Task<List<JsonObject>> ReadParquetAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        // Parquet.Net trusts the file's Thrift structures (a corrupt footer made it spin for ever): check them first.
        try
        {
            ParquetStructure.Validate(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: cannot read as parquet: {e.Message}", e);
        }

        var result = await ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancellationToken);
        return [.. result.Data.Select(row => (JsonObject)ToJson(row)!)];
    }

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        IDictionary<string, object> map => new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, ToJson(p.Value)))),
        IDictionary map => new JsonObject(map.Keys.Cast<object>().Select(k => KeyValuePair.Create(Convert.ToString(k, CultureInfo.InvariantCulture)!, ToJson(map[k])))),
        IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(ToJson)]),
        IConvertible convertible => JsonValue.Create(convertible.ToString(CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };

    private static List<JsonObject> ReadJsonLines(string path, List<string> warnings)
    {
        var rows = new List<JsonObject>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                if (JsonNode.Parse(text) is JsonObject row)
                {
                    rows.Add(row);
                }
                else
                {
                    warnings.Add($"{Path.GetFileName(path)} line {line}: not a JSON object; row skipped");
                }
            }
            catch (JsonException e)
            {
                warnings.Add($"{Path.GetFileName(path)} line {line}: invalid JSON ({e.Message}); row skipped");
            }
        }

        return rows;
    }

    private static List<JsonObject> ReadJson(string path, List<string> warnings)
    {
        var text = File.ReadAllText(path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // HF's json loader also takes JSON lines.
            return ReadJsonLines(path, warnings);
        }

        return root switch
        {
            JsonArray array => [.. array.OfType<JsonObject>()],
            JsonObject single => [single],
            _ => throw new InvalidDataException("the file holds neither a JSON array of rows nor JSON lines"),
        };
    }

    /// <summary>RFC 4180: a header row, quoted fields with doubled quotes, line breaks inside quotes.</summary>
    private static List<JsonObject> ReadCsv(string path)
    {
        var records = new List<List<string>>();
        var field = new StringBuilder();
        var record = new List<string>();
        var quoted = false;
        var text = File.ReadAllText(path);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                record.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new FormatException("a quoted field is not closed");
        }

        if (field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            records.Add(record);
        }

        if (records.Count == 0)
        {
            return [];
        }

        var header = records[0];
        return [.. records.Skip(1).Where(r => r.Count > 1 || r[0].Length > 0).Select(r => new JsonObject(
            header.Select((name, i) => KeyValuePair.Create(name, (JsonNode?)(i < r.Count ? JsonValue.Create(r[i]) : null)))))];
    }
}
