namespace Kaito.InferenceServer.Engine;

/// <summary>
/// A loaded model as the scheduler sees it: tokenizer, chat template and batched generation. Nothing outside
/// <c>Engine/</c> knows which runtime implements it (ONNX Runtime GenAI today).
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>The model id clients send.</summary>
    string Name { get; }

    /// <summary>Most tokens a sequence may hold, prompt included.</summary>
    int ContextLength { get; }

    /// <summary>Tokens that end a sequence.</summary>
    IReadOnlySet<int> EndOfSequenceTokens { get; }

    int CountTokens(string text);

    /// <summary>Token ids of <paramref name="text"/>; special tokens written in the text are recognised.</summary>
    int[] Encode(string text);

    /// <summary>Text of <paramref name="tokens"/>; ids outside the vocabulary are an <see cref="ArgumentOutOfRangeException"/>.</summary>
    string Decode(IReadOnlyList<int> tokens);

    /// <summary>Renders chat messages with the model's chat template.</summary>
    string ApplyChatTemplate(IReadOnlyList<PromptMessage> messages, bool addGenerationPrompt);

    /// <summary>Null when the engine can constrain output with <paramref name="guidance"/>, else why not.</summary>
    string? CheckGuidance(Guidance guidance);

    /// <summary>An incremental detokenizer for one sequence (keeps partial UTF-8 characters until complete).</summary>
    ITokenTextDecoder CreateDecoder();

    /// <summary>
    /// Starts generating after each of <paramref name="sequences"/> (token ids) together; all share
    /// <paramref name="sampling"/>. <paramref name="maxLength"/> bounds the longest sequence plus what it may add.
    /// </summary>
    IBatchGeneration StartBatch(IReadOnlyList<IReadOnlyList<int>> sequences, SamplingSettings sampling, int maxLength, int minLength);
}

/// <summary>One running batch: each step yields one token per sequence.</summary>
public interface IBatchGeneration : IDisposable
{
    int BatchSize { get; }

    /// <summary>Generates the next token of every sequence and returns them (valid until the next call).</summary>
    ReadOnlySpan<int> Next();

    /// <summary>
    /// The raw logits (before temperature and filters) the last <see cref="Next"/> chose sequence
    /// <paramref name="sequence"/>'s token from, over the vocabulary; valid until the next call.
    /// </summary>
    ReadOnlySpan<float> Logits(int sequence);
}

public interface ITokenTextDecoder : IDisposable
{
    /// <summary>Text the token completes; empty while a multi-byte character is still partial.</summary>
    string Decode(int token);
}

/// <summary>A chat message after normalisation (content parts joined into text).</summary>
public sealed record PromptMessage(string Role, string Content);

/// <summary>
/// Sampling settings; equal settings may share a batch. <see cref="TopLogprobs"/>: null for no log probabilities, else
/// how many alternatives to report beside each chosen token (0 to 20). <see cref="RepetitionPenalty"/>: vLLM's (and
/// Hugging Face's) — logits of tokens already in the sequence divided (positive) or multiplied (negative) by it; 1 is off.
/// </summary>
public sealed record SamplingSettings(bool DoSample, double Temperature, double TopP, int TopK, int? Seed, Guidance? Guidance = null, int? TopLogprobs = null,
    double RepetitionPenalty = 1)
{
    public static SamplingSettings Greedy { get; } = new(false, 0, 1, 1, null);
}

/// <summary>Constrained decoding: <see cref="Type"/> is <c>json_schema</c>, <c>regex</c> or <c>lark_grammar</c>.</summary>
public sealed record Guidance(string Type, string Data);
