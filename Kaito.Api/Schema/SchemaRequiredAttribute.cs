namespace Kaito.Api.Schema;

/// <summary>The field is listed in its object's <c>required</c> in the CRD schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute;
