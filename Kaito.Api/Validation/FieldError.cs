namespace Kaito.Api.Validation;

/// <summary>A problem with one field, named by its path (for example <c>tuning.input.urls[0]</c>).</summary>
/// <param name="Path">The field path; empty for the object as a whole.</param>
/// <param name="Message">What is wrong, in KAITO's words where KAITO has them.</param>
public sealed record FieldError(string Path, string Message)
{
    /// <summary>The error as the admission webhook reports it: <c>path: message</c>.</summary>
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}
