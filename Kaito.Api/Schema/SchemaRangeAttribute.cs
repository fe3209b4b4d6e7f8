namespace Kaito.Api.Schema;

/// <summary>Bounds written into the schema: <c>minimum</c>/<c>maximum</c> for numbers, <c>minItems</c>/<c>maxItems</c> for arrays, <c>minLength</c>/<c>maxLength</c> for strings.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRangeAttribute : Attribute
{
    /// <summary>The lower bound, when set.</summary>
    public long Minimum { get; init; } = long.MinValue;

    /// <summary>The upper bound, when set.</summary>
    public long Maximum { get; init; } = long.MaxValue;
}
