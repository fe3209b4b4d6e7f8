using Kaito.InferenceServer.Engine;

namespace Kaito.InferenceServer.Scheduling;

/// <summary>
/// What one generator's batch holds, as far as admitting another request goes: its model and sampling, whether it
/// may be shared at all, and the longest sequence and the most tokens any sequence may still add (together they must
/// fit the model's context, since every sequence in a batch is padded to the longest).
/// </summary>
public readonly record struct BatchShape(ILanguageModel Model, SamplingSettings Sampling, bool Shareable, int Longest, int Remaining)
{
    /// <summary>An empty batch for requests like <paramref name="first"/>.</summary>
    public static BatchShape For(GenerationRequest first) =>
        new(first.Model, first.Sampling, IsShareable(first.Sampling, first.MinTokens), 0, 0);

    /// <summary>
    /// Seeded sampling, a minimum length and constrained decoding keep per-generator state that a shared or restarted
    /// generator would change, so such a request runs alone.
    /// </summary>
    public static bool IsShareable(SamplingSettings sampling, int minTokens) =>
        !(sampling.DoSample && sampling.Seed is not null) && minTokens == 0 && sampling.Guidance is null;

    /// <summary>Whether <paramref name="candidate"/> can join: same model and sampling, and everything still fits.</summary>
    public bool Admits(GenerationRequest candidate) =>
        Shareable
        && ReferenceEquals(candidate.Model, Model)
        && candidate.Sampling == Sampling
        && candidate.MinTokens == 0
        && Math.Max(Longest, candidate.PromptTokens) + Math.Max(Remaining, candidate.MaxTokens) <= Model.ContextLength;

    /// <summary>The shape once <paramref name="request"/> has joined.</summary>
    public BatchShape With(GenerationRequest request) =>
        this with { Longest = Math.Max(Longest, request.PromptTokens), Remaining = Math.Max(Remaining, request.MaxTokens) };

    /// <summary>The shape after sequences of <paramref name="longest"/> tokens with <paramref name="remaining"/> left to add.</summary>
    public BatchShape Holding(int longest, int remaining) =>
        this with { Longest = Math.Max(Longest, longest), Remaining = Math.Max(Remaining, remaining) };
}
