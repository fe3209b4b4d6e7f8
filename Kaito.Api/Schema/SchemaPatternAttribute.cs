namespace Kaito.Api.Schema;

/// <summary>A regular expression a string field must match, written as the schema's <c>pattern</c>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    /// <summary>The ECMA-262 pattern.</summary>
    public string Pattern { get; } = pattern;
}
