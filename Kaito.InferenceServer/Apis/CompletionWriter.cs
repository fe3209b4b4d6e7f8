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
public sealed class CompletionWriter(bool chat, string model, TimeSpan streamInterval = default)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public async Task WriteWholeAsync(HttpResponse response, string text, int promptTokens, int completionTokens, string finishReason,
        IReadOnlyList<int>? tokenIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        _buffer.Clear();
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartObject();
            Header(json, chunk: false);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            if (chat)
            {
                json.WriteStartObject("message");
                json.WriteString("role", "assistant");
                json.WriteString("content", text);
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text);
            }

            json.WriteNull("logprobs");
            json.WriteString("finish_reason", finishReason);
            if (tokenIds is not null)
            {
                json.WriteStartArray("token_ids");
                foreach (var id in tokenIds)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndArray();
            Usage(json, promptTokens, completionTokens);
            json.WriteEndObject();
        }

        response.ContentType = "application/json";
        response.ContentLength = _buffer.WrittenCount;
        await response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>Streams <paramref name="request"/>'s updates as SSE; returns the completion tokens and finish reason.</summary>
    public async Task<(int CompletionTokens, string FinishReason)> StreamAsync(HttpResponse response, GenerationRequest request,
        bool includeUsage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(request);
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellationToken);

        _buffer.Clear();
        if (chat)
        {
            Chunk(text: "", role: true, finishReason: null);
        }

        var reader = request.Updates.Reader;
        var completionTokens = 0;
        string? finishReason = null;
        var text = new System.Text.StringBuilder();
        try
        {
            while (finishReason is null && await reader.WaitToReadAsync(cancellationToken))
            {
                while (finishReason is null && reader.TryRead(out var update))
                {
                    text.Append(update.Text);
                    if (update.IsFinal)
                    {
                        completionTokens = update.CompletionTokens;
                        finishReason = update.FinishReason;
                    }
                }

                if (text.Length > 0)
                {
                    Chunk(text.ToString(), role: false, finishReason: null);
                    text.Clear();
                }

                if (finishReason is not null)
                {
                    Chunk(text: null, role: false, finishReason);
                }

                await FlushAsync(response, cancellationToken);
                if (finishReason is null && streamInterval > TimeSpan.Zero && !request.Ended.IsCompleted)
                {
                    await Task.WhenAny(Task.Delay(streamInterval, cancellationToken), request.Ended);
                    cancellationToken.ThrowIfCancellationRequested();
                }
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

        if (finishReason is null)
        {
            throw new OperationCanceledException("The generation was cancelled.");
        }

        if (includeUsage)
        {
            UsageChunk(request.PromptTokens, completionTokens);
        }

        _buffer.Write(Done);
        await FlushAsync(response, cancellationToken);
        return (completionTokens, finishReason);
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

    private void Chunk(string? text, bool role, string? finishReason)
    {
        _buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartObject();
            Header(json, chunk: true);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
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

                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text ?? "");
            }

            json.WriteNull("logprobs");
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
