using System.Buffers;
using System.Text.Json;
using Kaito.InferenceServer.Scheduling;

namespace Kaito.InferenceServer.Apis;

/// <summary>
/// Writes chat and text completion responses, whole or as server-sent events. Streaming sends the first token at
/// once, then at most one event per <c>streamInterval</c> carrying every token generated meanwhile (vLLM's
/// <c>--stream-interval</c> idea, in time rather than tokens): a fast generator then costs one wake-up, one write and
/// one client parse per interval instead of per token, which on a CPU shared with the model is throughput.
/// </summary>
public sealed class CompletionWriter(bool chat, string model, TimeSpan streamInterval = default, bool logprobs = false)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public async Task WriteWholeAsync(HttpResponse response, IReadOnlyList<Choice> choices, int promptTokens, int completionTokens,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(choices);
        _buffer.Clear();
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartObject();
            Header(json, chunk: false);
            json.WriteStartArray("choices");
            for (var index = 0; index < choices.Count; index++)
            {
                var choice = choices[index];
                json.WriteStartObject();
                json.WriteNumber("index", index);
                if (chat)
                {
                    json.WriteStartObject("message");
                    json.WriteString("role", "assistant");
                    if (choice.ToolCalls is { Count: > 0 } calls)
                    {
                        if (choice.Text.Length > 0)
                        {
                            json.WriteString("content", choice.Text);
                        }
                        else
                        {
                            json.WriteNull("content");
                        }

                        ToolCalls(json, calls, delta: false);
                    }
                    else
                    {
                        json.WriteString("content", choice.Text);
                    }

                    json.WriteEndObject();
                }
                else
                {
                    json.WriteString("text", choice.Text);
                }

                Logprobs(json, choice.Logprobs, 0);
                json.WriteString("finish_reason", choice.FinishReason);
                if (choice.TokenIds is not null)
                {
                    json.WriteStartArray("token_ids");
                    foreach (var id in choice.TokenIds)
                    {
                        json.WriteNumberValue(id);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            Usage(json, promptTokens, completionTokens);
            json.WriteEndObject();
        }

        response.ContentType = "application/json";
        response.ContentLength = _buffer.WrittenCount;
        await response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>
    /// Streams the requests' updates as SSE, one choice after another (each chunk names its choice's index, so clients
    /// assemble them as from interleaved streams; all choices generate together meanwhile). Returns the completion
    /// tokens of all choices and the first choice's finish reason.
    /// </summary>
    public async Task<(int CompletionTokens, string FinishReason)> StreamAsync(HttpResponse response, IReadOnlyList<GenerationRequest> requests,
        bool includeUsage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(requests);
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellationToken);

        _buffer.Clear();
        var completionTokens = 0;
        string? firstReason = null;
        try
        {
            for (var index = 0; index < requests.Count; index++)
            {
                var (tokens, reason) = await StreamChoiceAsync(response, requests[index], index, cancellationToken);
                completionTokens += tokens;
                firstReason ??= reason;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Headers are gone; the error travels as an event, as OpenAI-compatible servers do.
            ErrorEvent(e);
            await FlushAsync(response, cancellationToken);
            await response.Body.WriteAsync(Done, cancellationToken);
            throw;
        }

        if (includeUsage)
        {
            UsageChunk(requests[0].PromptTokens, completionTokens);
        }

        _buffer.Write(Done);
        await FlushAsync(response, cancellationToken);
        return (completionTokens, firstReason!);
    }

    /// <summary>
    /// Sends finished choices as a stream (tool calling reads the output whole): per choice the role, its text or its
    /// calls, its finish reason; then the usage when asked for and <c>[DONE]</c>.
    /// </summary>
    public async Task StreamWholeAsync(HttpResponse response, IReadOnlyList<Choice> choices, int promptTokens, bool includeUsage,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(choices);
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellationToken);
        _buffer.Clear();
        for (var index = 0; index < choices.Count; index++)
        {
            var choice = choices[index];
            Chunk(index, text: "", role: true, finishReason: null, null);
            if (choice.Text.Length > 0 || choice.Logprobs is { Count: > 0 })
            {
                Chunk(index, choice.Text, role: false, finishReason: null, choice.Logprobs);
            }

            if (choice.ToolCalls is { Count: > 0 } calls)
            {
                Chunk(index, text: null, role: false, finishReason: null, null, calls: calls);
            }

            Chunk(index, text: null, role: false, choice.FinishReason, null);
        }

        if (includeUsage)
        {
            UsageChunk(promptTokens, choices.Sum(c => c.CompletionTokens));
        }

        _buffer.Write(Done);
        await FlushAsync(response, cancellationToken);
    }

    private async Task<(int CompletionTokens, string FinishReason)> StreamChoiceAsync(HttpResponse response, GenerationRequest request, int index,
        CancellationToken cancellationToken)
    {
        if (chat)
        {
            Chunk(index, text: "", role: true, finishReason: null, null);
        }

        var reader = request.Updates.Reader;
        var completionTokens = 0;
        string? finishReason = null;
        var text = new System.Text.StringBuilder();
        List<TokenLogprob>? pending = logprobs ? [] : null;
        var offset = 0;
        while (finishReason is null && await reader.WaitToReadAsync(cancellationToken))
        {
            while (finishReason is null && reader.TryRead(out var update))
            {
                text.Append(update.Text);
                pending?.AddRange(update.Logprobs ?? []);
                if (update.IsFinal)
                {
                    completionTokens = update.CompletionTokens;
                    finishReason = update.FinishReason;
                }
            }

            if (text.Length > 0 || pending is { Count: > 0 })
            {
                Chunk(index, text.ToString(), role: false, finishReason: null, pending, offset);
                offset += pending?.Sum(t => t.Token.Length) ?? 0;
                text.Clear();
                pending?.Clear();
            }

            if (finishReason is not null)
            {
                Chunk(index, text: null, role: false, finishReason, null);
            }

            await FlushAsync(response, cancellationToken);
            if (finishReason is null && streamInterval > TimeSpan.Zero && !request.Ended.IsCompleted)
            {
                await Task.WhenAny(Task.Delay(streamInterval, cancellationToken), request.Ended);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        return finishReason is null
            ? throw new OperationCanceledException("The generation was cancelled.")
            : (completionTokens, finishReason);
    }

    private async Task FlushAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        await response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
        _buffer.Clear();
    }

    private void Chunk(int index, string? text, bool role, string? finishReason, IReadOnlyList<TokenLogprob>? tokens, int offset = 0,
        IReadOnlyList<ToolCall>? calls = null)
    {
        _buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartObject();
            Header(json, chunk: true);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", index);
            if (chat)
            {
                json.WriteStartObject("delta");
                if (role)
                {
                    json.WriteString("role", "assistant");
                }

                if (text is not null)
                {
                    json.WriteString("content", text);
                }

                if (calls is not null)
                {
                    ToolCalls(json, calls, delta: true);
                }

                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text ?? "");
            }

            Logprobs(json, tokens, offset);
            if (finishReason is null)
            {
                json.WriteNull("finish_reason");
            }
            else
            {
                json.WriteString("finish_reason", finishReason);
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        _buffer.Write(EventEnd);
    }

    /// <summary>
    /// <c>logprobs</c> of a choice or chunk: null unless asked for; chat's <c>{"content": [{token, logprob, bytes,
    /// top_logprobs}]}</c>, or the completions API's <c>tokens</c>, <c>token_logprobs</c>, <c>top_logprobs</c> and
    /// <c>text_offset</c> (offsets from <paramref name="offset"/>).
    /// </summary>
    private void Logprobs(Utf8JsonWriter json, IReadOnlyList<TokenLogprob>? tokens, int offset)
    {
        if (!logprobs || tokens is null)
        {
            json.WriteNull("logprobs");
            return;
        }

        json.WriteStartObject("logprobs");
        if (chat)
        {
            json.WriteStartArray("content");
            foreach (var token in tokens)
            {
                json.WriteStartObject();
                Token(json, token.Token, token.Bytes, token.Logprob);
                json.WriteStartArray("top_logprobs");
                foreach (var top in token.Top)
                {
                    json.WriteStartObject();
                    Token(json, top.Token, top.Bytes, top.Logprob);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteStartArray("tokens");
            foreach (var token in tokens)
            {
                json.WriteStringValue(token.Token);
            }

            json.WriteEndArray();
            json.WriteStartArray("token_logprobs");
            foreach (var token in tokens)
            {
                json.WriteNumberValue(token.Logprob);
            }

            json.WriteEndArray();
            json.WriteStartArray("top_logprobs");
            foreach (var token in tokens)
            {
                json.WriteStartObject();
                foreach (var top in token.Top.DistinctBy(t => t.Token))
                {
                    json.WriteNumber(top.Token, top.Logprob);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("text_offset");
            foreach (var token in tokens)
            {
                json.WriteNumberValue(offset);
                offset += token.Token.Length;
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary><c>tool_calls</c>: id, type and function (name, arguments as text); stream deltas also carry their index.</summary>
    private static void ToolCalls(Utf8JsonWriter json, IReadOnlyList<ToolCall> calls, bool delta)
    {
        json.WriteStartArray("tool_calls");
        for (var i = 0; i < calls.Count; i++)
        {
            json.WriteStartObject();
            if (delta)
            {
                json.WriteNumber("index", i);
            }

            json.WriteString("id", calls[i].Id);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", calls[i].Name);
            json.WriteString("arguments", calls[i].Arguments);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void Token(Utf8JsonWriter json, string token, byte[] bytes, double logprob)
    {
        json.WriteString("token", token);
        json.WriteNumber("logprob", logprob);
        json.WriteStartArray("bytes");
        foreach (var b in bytes)
        {
            json.WriteNumberValue(b);
        }

        json.WriteEndArray();
    }

    private void UsageChunk(int promptTokens, int completionTokens)
    {
        _buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartObject();
            Header(json, chunk: true);
            json.WriteStartArray("choices");
            json.WriteEndArray();
            Usage(json, promptTokens, completionTokens);
            json.WriteEndObject();
        }

        _buffer.Write(EventEnd);
    }

    private void ErrorEvent(Exception exception)
    {
        _buffer.Write(DataPrefix);
        var body = OpenAiErrors.Body(new OpenAiException(StatusCodes.Status500InternalServerError,
            $"Generation failed: {exception.Message}", null, "server_error"));
        _buffer.Write(JsonSerializer.SerializeToUtf8Bytes(body));
        _buffer.Write(EventEnd);
    }

    private void Header(Utf8JsonWriter json, bool chunk)
    {
        json.WriteString("id", _id);
        json.WriteString("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        json.WriteNumber("created", _created);
        json.WriteString("model", model);
    }

    private static void Usage(Utf8JsonWriter json, int promptTokens, int completionTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteEndObject();
    }
}
