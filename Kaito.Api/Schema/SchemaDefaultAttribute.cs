namespace Kaito.Api.Schema;

/// <summary>
/// A default the API server applies from the CRD schema. <see cref="Version"/> limits it to one API version
/// (v1alpha1 defaults <c>instanceType</c>, v1beta1 does not).
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true)]
public sealed class SchemaDefaultAttribute(object value) : Attribute
{
    /// <summary>The default value, written into the schema as JSON.</summary>
    public object Value { get; } = value;

    /// <summary>The only version the default applies to; all versions when null.</summary>
    public string? Version { get; init; }
}
