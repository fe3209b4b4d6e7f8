using System.Text.Json;
using Kaito.InferenceServer.Scheduling;
using Kaito.InferenceServer.Serving;
using Kaito.InferenceServer.Telemetry;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Apis;

/// <summary><c>POST /v1/completions</c>: OpenAI's (legacy) text completion API, whole or streamed.</summary>
public static class CompletionsApi
{
    public static IEndpointRouteBuilder MapCompletionsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/v1/completions", HandleAsync);
        return endpoints;
    }

    private static Task HandleAsync(HttpContext context, ModelRegistry registry, GenerationScheduler scheduler,
        IOptions<InferenceServerOptions> options, InferenceTelemetry telemetry) => OpenAiEndpoint.RunAsync(context, registry, options.Value, async (body, model) =>
    {
        var aborted = context.RequestAborted;
        var prompt = ParsePrompt(body);
        if (JsonRequest.OptionalBool(body, "echo") == true)
        {
            throw OpenAiException.Invalid("echo", "'echo' is not supported by this server.");
        }

        if (JsonRequest.OptionalString(body, "suffix") is { Length: > 0 })
        {
            throw OpenAiException.Invalid("suffix", "'suffix' is not supported by this server.");
        }

        var parameters = GenerationParameters.Parse(body, options.Value, chat: false);
        using var admission = Generation.Admit(scheduler, model);
        // OpenAI's completions default to 16 tokens.
        var requests = Enumerable.Range(0, parameters.N).Select(i => Generation.Create(model, prompt, "prompt", parameters.MaxTokens ?? 16, 0,
            parameters.SamplingOf(i), parameters.Stop, aborted, parameters.ReturnTokenIds)).ToList();

        await Generation.RespondAsync(context, scheduler, telemetry, "text_completion", requests, parameters, options.Value.StreamInterval, admission);
    });

    private static string ParsePrompt(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Missing("prompt");
        }

        if (prompt.ValueKind == JsonValueKind.String)
        {
            return prompt.GetString()!;
        }

        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
        {
            return prompt[0].GetString()!;
        }

        throw OpenAiException.WrongType("prompt", "a string (token-id prompts and several prompts per request are not supported)");
    }
}
