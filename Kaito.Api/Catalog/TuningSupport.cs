namespace Kaito.Api.Catalog;

/// <summary>How a model can be fine-tuned.</summary>
/// <param name="Methods">lora and/or qlora.</param>
/// <param name="DiskGiB">The node disk the tuning pod needs.</param>
public sealed record TuningSupport(IReadOnlyList<string> Methods, int DiskGiB);
