using System.Text.Json;
using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;

namespace Kaito.InferenceServer.Apis;

/// <summary>The OpenAI sampling and streaming fields shared by chat and text completions, validated.</summary>
public sealed record GenerationParameters(
    int? MaxTokens,
    SamplingSettings Sampling,
    IReadOnlyList<string> Stop,
    bool Stream,
    bool IncludeUsage,
    bool ReturnTokenIds,
    int N = 1)
{
    /// <summary>Most choices one request may ask for (<c>n</c>): each is a sequence in the batch.</summary>
    public const int MaxChoices = 16;

    /// <summary>
    /// The sampling of choice <paramref name="index"/>: with a seed, choice i samples with seed + i, so the choices
    /// differ and the same request gives the same choices again.
    /// </summary>
    public SamplingSettings SamplingOf(int index) =>
        index == 0 || Sampling.Seed is not { } seed ? Sampling : Sampling with { Seed = unchecked(seed + index) };

    /// <summary>
    /// Parses and checks the fields; <paramref name="chat"/> selects chat's <c>logprobs</c> (a boolean, with
    /// <c>top_logprobs</c>) over the completions API's (the number of alternatives).
    /// </summary>
    public static GenerationParameters Parse(JsonElement body, InferenceServerOptions options, bool chat = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        var maxTokens = JsonRequest.OptionalInteger(body, "max_completion_tokens", 1, int.MaxValue)
            ?? JsonRequest.OptionalInteger(body, "max_tokens", 1, int.MaxValue);
        var temperature = JsonRequest.OptionalNumber(body, "temperature", 0, 2) ?? 1.0;
        var topP = JsonRequest.OptionalNumber(body, "top_p", 0, 1) ?? 1.0;
        if (topP <= 0)
        {
            throw OpenAiException.Invalid("top_p", "'top_p' must be greater than 0.");
        }

        var topK = JsonRequest.OptionalInteger(body, "top_k", -1, int.MaxValue) ?? -1;
        var seed = JsonRequest.OptionalInteger(body, "seed", int.MinValue, int.MaxValue);
        var n = JsonRequest.OptionalInteger(body, "n", 1, MaxChoices) ?? 1;
        var topLogprobs = Logprobs(body, chat);
        // vLLM's extension (greater than 0, 1 is off); OpenAI's presence and frequency penalties are refused below.
        var repetitionPenalty = JsonRequest.OptionalNumber(body, "repetition_penalty", 0, 2) ?? 1.0;
        if (repetitionPenalty <= 0)
        {
            throw OpenAiException.Invalid("repetition_penalty", "'repetition_penalty' must be greater than 0.");
        }


        Unsupported(body);
        var guidance = ResponseFormat(body);
        var stream = JsonRequest.OptionalBool(body, "stream") ?? false;
        var includeUsage = false;
        if (body.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null)
        {
            if (!stream)
            {
                throw OpenAiException.Invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.");
            }

            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.WrongType("stream_options", "an object");
            }

            includeUsage = JsonRequest.OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        var greedy = temperature == 0 || topK == 1;
        var sampling = greedy
            ? SamplingSettings.Greedy with { Guidance = guidance, TopLogprobs = topLogprobs, RepetitionPenalty = repetitionPenalty }
            : new SamplingSettings(true, temperature, topP, topK > 0 ? topK : 0, seed, guidance, topLogprobs, repetitionPenalty);
        // vLLM's extension: the generated token ids in each choice (whole responses only).
        var returnTokenIds = JsonRequest.OptionalBool(body, "return_token_ids") ?? false;
        if (returnTokenIds && stream)
        {
            throw OpenAiException.Invalid("return_token_ids", "'return_token_ids' is only supported without 'stream'.");
        }

        return new GenerationParameters(maxTokens, sampling, ParseStop(body, options.MaxStopSequences, options.MaxStopSequenceLength), stream, includeUsage, returnTokenIds, n);
    }

    /// <summary>
    /// How many alternatives to report per token, or null for no log probabilities: chat's <c>logprobs: true</c> with
    /// <c>top_logprobs</c> (0–20), or the completions API's <c>logprobs</c> number (0–20, OpenAI allows 5).
    /// </summary>
    private static int? Logprobs(JsonElement body, bool chat)
    {
        if (!chat)
        {
            return JsonRequest.OptionalInteger(body, "logprobs", 0, TokenLogprobs.MaxTop);
        }

        var wanted = JsonRequest.OptionalBool(body, "logprobs") ?? false;
        var top = JsonRequest.OptionalInteger(body, "top_logprobs", 0, TokenLogprobs.MaxTop);
        return top is not null && !wanted
            ? throw OpenAiException.Invalid("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.")
            : wanted ? top ?? 0 : null;
    }

    private static List<string> ParseStop(JsonElement body, int maxStops, int maxLength)
    {
        var stops = ParseStop(body, maxStops);
        var index = stops.FindIndex(s => s.Length > maxLength);
        return index < 0 ? stops
            : throw OpenAiException.Invalid(stops.Count == 1 && body.GetProperty("stop").ValueKind == JsonValueKind.String ? "stop" : $"stop[{index}]",
                $"A stop sequence may be at most {maxLength} characters long, got {stops[index].Length}.");
    }

    private static List<string> ParseStop(JsonElement body, int maxStops)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString() is { Length: > 0 } single ? [single] : throw OpenAiException.Invalid("stop", "'stop' must not be empty.");
        }

        if (stop.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.WrongType("stop", "a string or an array of strings");
        }

        var stops = new List<string>();
        var index = 0;
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } text)
            {
                throw OpenAiException.WrongType($"stop[{index}]", "a non-empty string");
            }

            stops.Add(text);
            index++;
        }

        return stops.Count > maxStops
            ? throw OpenAiException.Invalid("stop", $"At most {maxStops} stop sequences are allowed, got {stops.Count}.")
            : stops;
    }

    /// <summary>Fields the server cannot honour are refused by name rather than silently ignored.</summary>
    private static void Unsupported(JsonElement body)
    {
        foreach (var penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            if (JsonRequest.OptionalNumber(body, penalty, -2, 2) is { } value && value != 0)
            {
                throw OpenAiException.Invalid(penalty, $"'{penalty}' is not supported by this server; omit it or send 0.");
            }
        }

        if (body.TryGetProperty("logit_bias", out var bias) && bias.ValueKind == JsonValueKind.Object && bias.EnumerateObject().Any())
        {
            throw OpenAiException.Invalid("logit_bias", "'logit_bias' is not supported by this server.");
        }

    }

    /// <summary>
    /// <c>response_format</c> as a guidance grammar: <c>json_object</c> is any JSON object, <c>json_schema</c> the
    /// given schema. Output is compact JSON (no free whitespace) unless the schema says otherwise in
    /// <c>x-guidance</c>, so a model cannot spend its tokens on blanks.
    /// </summary>
    private static Guidance? ResponseFormat(JsonElement body)
    {
        if (!body.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.WrongType("response_format", "an object with a 'type'");
        }

        var type = JsonRequest.OptionalString(format, "type") ?? throw OpenAiException.Missing("response_format.type");
        System.Text.Json.Nodes.JsonObject schema;
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                schema = new System.Text.Json.Nodes.JsonObject { ["type"] = "object" };
                break;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var wrapper) || wrapper.ValueKind != JsonValueKind.Object)
                {
                    throw OpenAiException.Missing("response_format.json_schema");
                }

                if (!wrapper.TryGetProperty("schema", out var given) || given.ValueKind != JsonValueKind.Object)
                {
                    throw OpenAiException.WrongType("response_format.json_schema.schema", "a JSON Schema object");
                }

                schema = System.Text.Json.Nodes.JsonNode.Parse(given.GetRawText())!.AsObject();
                break;
            default:
                throw OpenAiException.Invalid("response_format.type", $"'{type}' is not a response format; use text, json_object or json_schema.");
        }

        schema.TryAdd("x-guidance", new System.Text.Json.Nodes.JsonObject { ["whitespace_flexible"] = false });
        return new Guidance("json_schema", schema.ToJsonString());
    }
}
