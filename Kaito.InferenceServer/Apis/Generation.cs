using System.Diagnostics;
using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;
using Kaito.InferenceServer.Serving;

namespace Kaito.InferenceServer.Apis;

/// <summary>The steps every generating endpoint shares: pick the model, check the context, queue, collect.</summary>
public static class Generation
{
    public static ILanguageModel ResolveModel(ModelRegistry registry, string? name)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (registry.Base is not { } baseModel)
        {
            throw new OpenAiException(StatusCodes.Status503ServiceUnavailable, "The model is still loading; retry shortly.", null, "model_not_ready");
        }

        if (string.IsNullOrEmpty(name))
        {
            return registry.Default ?? baseModel;
        }

        return registry.TryGet(name, out var model)
            ? model
            : throw new OpenAiException(StatusCodes.Status404NotFound, $"The model `{name}` does not exist.", "model", "model_not_found");
    }

    public static GenerationRequest Create(ILanguageModel model, string prompt, string promptParam, int? maxTokens, int minTokens,
        SamplingSettings sampling, IReadOnlyList<string> stop, CancellationToken cancellation, bool returnTokenIds = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampling);
        if (sampling.Guidance is { } guidance && model.CheckGuidance(guidance) is { } problem)
        {
            throw OpenAiException.Invalid("response_format", $"The response format cannot be used with this model: {problem}");
        }

        var promptIds = model.Encode(prompt);
        var promptTokens = promptIds.Length;
        var context = model.ContextLength;
        if (promptTokens >= context || promptTokens + (maxTokens ?? 1) > context)
        {
            throw new OpenAiException(StatusCodes.Status400BadRequest,
                $"This model's maximum context length is {context} tokens. However, you requested {promptTokens + (maxTokens ?? 1)} tokens " +
                $"({promptTokens} in the {promptParam}, {maxTokens ?? 1} in the completion). Please reduce the length of the {promptParam} or completion.",
                promptParam, "context_length_exceeded");
        }

        return new GenerationRequest
        {
            Model = model,
            PromptIds = promptIds,
            MaxTokens = maxTokens ?? context - promptTokens,
            MinTokens = minTokens,
            Sampling = sampling,
            StopSequences = stop,
            Cancellation = cancellation,
            ReturnTokenIds = returnTokenIds,
        };
    }

    /// <summary>
    /// Holds a place in the queue before the request is prepared (templated, tokenized, constrained): a server at
    /// capacity answers 429 before doing that work.
    /// </summary>
    public static GenerationScheduler.Admission Admit(GenerationScheduler scheduler, ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(model);
        return scheduler.TryAdmit(model.Name) ?? throw AtCapacity();
    }

    public static void Enqueue(GenerationScheduler scheduler, GenerationRequest request, GenerationScheduler.Admission? admission = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        if (!scheduler.TryEnqueue(request, admission))
        {
            throw AtCapacity();
        }
    }

    private static OpenAiException AtCapacity() => new(StatusCodes.Status429TooManyRequests,
        "The server is at capacity: too many requests are waiting. Retry after the time in Retry-After.", null, "rate_limit_exceeded");

    /// <summary>
    /// Queues the <paramref name="requests"/> (one per choice, <c>n</c>) under a span and answers with the whole
    /// completion or its stream; chat or text completion by <paramref name="operation"/> (<c>chat</c> or
    /// <c>text_completion</c>).
    /// </summary>
    public static async Task RespondAsync(HttpContext context, GenerationScheduler scheduler, Telemetry.InferenceTelemetry telemetry,
        string operation, IReadOnlyList<GenerationRequest> requests, GenerationParameters parameters, TimeSpan streamInterval, GenerationScheduler.Admission? admission = null,
        ToolCalling? tools = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(parameters);
        var aborted = context.RequestAborted;
        var first = requests[0];
        using var activity = Start(telemetry, operation, first.Model, first);
        for (var i = 0; i < requests.Count; i++)
        {
            Enqueue(scheduler, requests[i], i == 0 ? admission : null);
        }

        var writer = new CompletionWriter(chat: operation == "chat", first.Model.Name, streamInterval, logprobs: first.Sampling.TopLogprobs is not null);
        if (parameters.Stream && tools is null)
        {
            var (tokens, reason) = await writer.StreamAsync(context.Response, requests, parameters.IncludeUsage, aborted);
            Tag(activity, first, tokens, reason);
            return;
        }

        var choices = new List<Choice>(requests.Count);
        foreach (var request in requests)
        {
            var choice = await CollectAsync(request, aborted);
            if (tools?.Read(choice.Text) is (var content, { Count: > 0 } calls))
            {
                // OpenAI's shape: the calls, the text outside them (usually none), finish_reason tool_calls.
                choice = choice with { Text = content ?? "", ToolCalls = calls, FinishReason = "tool_calls" };
            }

            choices.Add(choice);
        }

        var completionTokens = choices.Sum(c => c.CompletionTokens);
        Tag(activity, first, completionTokens, choices[0].FinishReason);
        if (parameters.Stream)
        {
            // With tools the output is read whole (a call is known once it is complete), then sent as a stream.
            await writer.StreamWholeAsync(context.Response, choices, first.PromptTokens, parameters.IncludeUsage, aborted);
            return;
        }

        await writer.WriteWholeAsync(context.Response, choices, first.PromptTokens, completionTokens, aborted);
    }

    /// <summary>Waits for the whole output (non-streaming responses).</summary>
    public static async Task<Choice> CollectAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new System.Text.StringBuilder();
        List<TokenLogprob>? logprobs = request.Sampling.TopLogprobs is null ? null : [];
        await foreach (var update in request.Updates.Reader.ReadAllAsync(cancellationToken))
        {
            text.Append(update.Text);
            logprobs?.AddRange(update.Logprobs ?? []);
            if (update.IsFinal)
            {
                return new Choice(text.ToString(), update.CompletionTokens, update.FinishReason!, update.TokenIds, logprobs);
            }
        }

        throw new OperationCanceledException("The generation ended without a result.");
    }

    /// <summary>Tags a request's span with GenAI semantic-convention attributes once it finished.</summary>
    public static void Tag(Activity? activity, GenerationRequest request, int completionTokens, string finishReason)
    {
        ArgumentNullException.ThrowIfNull(request);
        activity?.SetTag("gen_ai.usage.input_tokens", request.PromptTokens);
        activity?.SetTag("gen_ai.usage.output_tokens", completionTokens);
        activity?.SetTag("gen_ai.response.finish_reasons", new[] { finishReason });
    }

    public static Activity? Start(Telemetry.InferenceTelemetry telemetry, string operation, ILanguageModel model, GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        var activity = telemetry.ActivitySource.StartActivity($"{operation} {model.Name}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", operation);
        activity?.SetTag("gen_ai.request.model", model.Name);
        activity?.SetTag("gen_ai.request.max_tokens", request.MaxTokens);
        activity?.SetTag("gen_ai.request.temperature", request.Sampling.Temperature);
        return activity;
    }
}

/// <summary>One finished choice of a completion.</summary>
public sealed record Choice(string Text, int CompletionTokens, string FinishReason, IReadOnlyList<int>? TokenIds, IReadOnlyList<TokenLogprob>? Logprobs,
    IReadOnlyList<ToolCall>? ToolCalls = null);
