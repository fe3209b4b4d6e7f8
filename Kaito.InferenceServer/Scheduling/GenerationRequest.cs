using System.Threading.Channels;
using Kaito.InferenceServer.Engine;

namespace Kaito.InferenceServer.Scheduling;

/// <summary>
/// One request as the scheduler runs it. The HTTP handler reads <see cref="Updates"/> until a final update (with a
/// finish reason) arrives; the scheduler is the only writer.
/// </summary>
public sealed class GenerationRequest
{
    public required ILanguageModel Model { get; init; }

    /// <summary>The prompt's token ids (chat template already applied).</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }

    public int PromptTokens => PromptIds.Count;

    public required int MaxTokens { get; init; }

    public int MinTokens { get; init; }

    public required SamplingSettings Sampling { get; init; }

    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Keep the generated token ids for the final update (vLLM's <c>return_token_ids</c>).</summary>
    public bool ReturnTokenIds { get; init; }

    /// <summary>Cancelled when the client goes away; the scheduler then drops the sequence and frees its slot.</summary>
    public CancellationToken Cancellation { get; init; }

    public Channel<GenerationUpdate> Updates { get; } = Channel.CreateUnbounded<GenerationUpdate>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>Completes when the scheduler wrote the last update (or gave up), so a paced stream need not wait out its pause.</summary>
    public Task Ended => _ended.Task;

    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes <see cref="Updates"/> and <see cref="Ended"/>.</summary>
    internal void Complete(Exception? error = null)
    {
        Updates.Writer.TryComplete(error);
        _ended.TrySetResult();
    }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of admission.</summary>
    public long EnqueuedAt { get; internal set; }

    internal LinkedListNode<GenerationRequest>? QueueNode { get; set; }
}

/// <summary>
/// Text generated since the previous update, with the log probabilities of its tokens when asked for; the last update
/// carries the finish reason (and, when asked for, every generated token id).
/// </summary>
public readonly record struct GenerationUpdate(string Text, int CompletionTokens, string? FinishReason, IReadOnlyList<int>? TokenIds = null,
    IReadOnlyList<TokenLogprob>? Logprobs = null)
{
    public bool IsFinal => FinishReason is not null;
}

/// <summary>Why a sequence ended, in OpenAI's words where OpenAI has one.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string Cancelled = "cancelled";
}
