using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kaito.Models.Json;

/// <summary>
/// How model files are written: indented, nulls left out, and characters such as <c>&lt;</c> kept literal (chat
/// templates and special tokens read as in Hugging Face's own files, not as <c>\u003C</c>).
/// </summary>
public static class ModelJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
