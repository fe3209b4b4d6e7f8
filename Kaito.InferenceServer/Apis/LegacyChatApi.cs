using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;
using Kaito.InferenceServer.Serving;
using Kaito.InferenceServer.Telemetry;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Apis;

/// <summary>
/// KAITO's original <c>POST /chat</c> (the transformers runtime up to v0.4): <c>{"prompt", "generate_kwargs"}</c>
/// → <c>{"Result": text}</c>, or <c>{"messages"}</c> for the conversational form. Hugging Face pipeline semantics:
/// <c>max_length</c> and <c>min_length</c> count the prompt, <c>return_full_text</c> (default true) prefixes the prompt,
/// sampling is on with top_k 10 unless told otherwise. Errors keep FastAPI's <c>{"detail": ...}</c> shape.
/// </summary>
public static class LegacyChatApi
{
    private const int DefaultMaxLength = 200;
    private const int DefaultTopK = 10;

    public static IEndpointRouteBuilder MapLegacyChatApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/chat", HandleAsync);
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, ModelRegistry registry, GenerationScheduler scheduler,
        IOptions<InferenceServerOptions> options, InferenceTelemetry telemetry)
    {
        try
        {
            await ChatAsync(context, registry, scheduler, options.Value, telemetry);
        }
        catch (OpenAiException error) when (!context.Response.HasStarted)
        {
            if (error.StatusCode == StatusCodes.Status429TooManyRequests)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            var detail = error.Param is null || error.Message.Contains(error.Param, StringComparison.Ordinal)
                ? error.Message
                : $"{error.Param}: {error.Message}";
            await TypedResults.Json(new JsonObject { ["detail"] = detail }, statusCode: error.StatusCode).ExecuteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private static async Task ChatAsync(HttpContext context, ModelRegistry registry, GenerationScheduler scheduler,
        InferenceServerOptions options, InferenceTelemetry telemetry)
    {
        var aborted = context.RequestAborted;
        using var document = await JsonRequest.ReadAsync(context.Request, options.MaxRequestBodyBytes, aborted);
        var body = document.RootElement;
        var model = Generation.ResolveModel(registry, null);
        using var admission = Generation.Admit(scheduler, model);

        string prompt;
        var conversational = body.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null;
        if (conversational)
        {
            prompt = model.ApplyChatTemplate(ChatCompletionsApi.ParseMessages(body), addGenerationPrompt: true);
        }
        else
        {
            prompt = JsonRequest.OptionalString(body, "prompt") is { Length: > 0 } text
                ? text
                : throw new OpenAiException(StatusCodes.Status400BadRequest, "Text generation parameter prompt required");
        }

        var kwargs = body.TryGetProperty("generate_kwargs", out var value) && value.ValueKind == JsonValueKind.Object ? value : default;
        var hasKwargs = kwargs.ValueKind == JsonValueKind.Object;
        int? Integer(string name, long min) => hasKwargs ? JsonRequest.OptionalInteger(kwargs, name, min, int.MaxValue, $"generate_kwargs.{name}") : null;
        double? Number(string name, double min, double max) => hasKwargs ? JsonRequest.OptionalNumber(kwargs, name, min, max, $"generate_kwargs.{name}") : null;

        if (Integer("num_beams", 1) is > 1)
        {
            throw OpenAiException.Invalid("generate_kwargs.num_beams", "Beam search is not supported; use num_beams 1.");
        }

        var promptTokens = model.CountTokens(prompt);
        var explicitLength = Integer("max_length", 1);
        var maxLength = explicitLength ?? DefaultMaxLength;
        // Without an explicit max_length a long prompt still gets the default's worth of new tokens.
        var maxNewTokens = Integer("max_new_tokens", 1)
            ?? (explicitLength is null && promptTokens >= DefaultMaxLength ? DefaultMaxLength : maxLength - promptTokens);
        if (maxNewTokens <= 0)
        {
            throw OpenAiException.Invalid("generate_kwargs.max_length",
                $"max_length {maxLength} leaves no room to generate after the prompt's {promptTokens} tokens.");
        }

        var minNewTokens = Math.Max(0, (Integer("min_length", 0) ?? 0) - promptTokens);
        var doSample = hasKwargs ? JsonRequest.OptionalBool(kwargs, "do_sample", "generate_kwargs.do_sample") ?? true : true;
        var temperature = Number("temperature", 0, 100) ?? 1.0;
        var topK = Integer("top_k", 0) ?? DefaultTopK;
        var topP = Number("top_p", 0, 1) ?? 1.0;
        var sampling = !doSample || temperature == 0 || topK == 1
            ? SamplingSettings.Greedy
            : new SamplingSettings(true, temperature, topP <= 0 ? 1 : topP, topK, null);

        var request = Generation.Create(model, prompt, conversational ? "messages" : "prompt", maxNewTokens,
            Math.Min(minNewTokens, maxNewTokens), sampling, [], aborted);
        using var activity = Generation.Start(telemetry, "chat", model, request);
        Generation.Enqueue(scheduler, request, admission);
        var choice = await Generation.CollectAsync(request, aborted);
        var generated = choice.Text;
        Generation.Tag(activity, request, choice.CompletionTokens, choice.FinishReason);

        var returnFullText = !conversational && (JsonRequest.OptionalBool(body, "return_full_text") ?? true);
        var result = returnFullText ? prompt + generated : generated;
        await TypedResults.Json(new JsonObject { ["Result"] = result }).ExecuteAsync(context);
    }
}
