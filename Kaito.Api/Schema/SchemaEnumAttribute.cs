namespace Kaito.Api.Schema;

/// <summary>The closed set of values a string field accepts, written as the schema's <c>enum</c>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaEnumAttribute(params string[] values) : Attribute
{
    /// <summary>The accepted values.</summary>
    public IReadOnlyList<string> Values { get; } = values;
}
