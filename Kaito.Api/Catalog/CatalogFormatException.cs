namespace Kaito.Api.Catalog;

/// <summary>A malformed catalog or SKU file, with the file, entry, field and line at fault.</summary>
public sealed class CatalogFormatException : FormatException
{
    /// <summary>Creates the error; the message names every location part that is known.</summary>
    public CatalogFormatException(string file, string? entry, string? field, long line, string problem)
        : base(Describe(file, entry, field, line, problem))
    {
        File = file;
        Entry = entry;
        Field = field;
        Line = line;
    }

    /// <summary>The file name.</summary>
    public string File { get; }

    /// <summary>The entry, for example <c>models[3] (phi-4)</c>.</summary>
    public string? Entry { get; }

    /// <summary>The field within the entry.</summary>
    public string? Field { get; }

    /// <summary>The 1-based line.</summary>
    public long Line { get; }

    private static string Describe(string file, string? entry, string? field, long line, string problem)
    {
        var where = $"{file}:{line}";
        if (entry is not null)
        {
            where += $": {entry}";
        }

        if (field is not null)
        {
            where += $", field '{field}'";
        }

        return $"{where}: {problem}";
    }
}
