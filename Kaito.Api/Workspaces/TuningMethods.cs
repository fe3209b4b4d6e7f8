namespace Kaito.Api.Workspaces;

/// <summary>Values of <see cref="TuningSpec.Method"/>, compared case-insensitively as KAITO does.</summary>
public static class TuningMethods
{
    /// <summary>Low-rank adaptation on the full-precision base model.</summary>
    public const string Lora = "lora";

    /// <summary>LoRA on a 4-bit (NF4) quantised base model.</summary>
    public const string QLora = "qlora";

    /// <summary>Whether <paramref name="method"/> is lora or qlora in any case.</summary>
    public static bool IsKnown(string? method) =>
        string.Equals(method, Lora, StringComparison.OrdinalIgnoreCase) || string.Equals(method, QLora, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="method"/> is qlora in any case.</summary>
    public static bool IsQLora(string? method) => string.Equals(method, QLora, StringComparison.OrdinalIgnoreCase);
}
