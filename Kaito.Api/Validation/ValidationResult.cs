namespace Kaito.Api.Validation;

/// <summary>Errors reject the object; warnings are reported to the client (kubectl prints them) and let it through.</summary>
public sealed class ValidationResult
{
    private readonly List<FieldError> _errors = [];
    private readonly List<FieldError> _warnings = [];

    /// <summary>The errors, in the order the rules ran.</summary>
    public IReadOnlyList<FieldError> Errors => _errors;

    /// <summary>The warnings.</summary>
    public IReadOnlyList<FieldError> Warnings => _warnings;

    /// <summary>No errors.</summary>
    public bool IsValid => _errors.Count == 0;

    /// <summary>Every error in one message, as the webhook denies with it.</summary>
    public string Message => string.Join("; ", _errors);

    internal void Error(string path, string message) => _errors.Add(new FieldError(path, message));

    internal void Warning(string path, string message) => _warnings.Add(new FieldError(path, message));

    /// <summary>An error, or a warning when <paramref name="bypass"/> turns resource checks into warnings.</summary>
    internal void ResourceError(string path, string message, bool bypass)
    {
        if (bypass)
        {
            Warning(path, message);
        }
        else
        {
            Error(path, message);
        }
    }
}
