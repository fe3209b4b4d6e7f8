namespace Kaito.Api.Schema;

/// <summary>The field is schemaless in the CRD (<c>x-kubernetes-preserve-unknown-fields</c>), as KAITO keeps pod templates and volume sources.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;
