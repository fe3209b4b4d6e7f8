using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.InferenceServer.Serving;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Apis;

/// <summary>
/// vLLM's <c>POST /tokenize</c> (<c>{"prompt"}</c> or <c>{"messages"}</c> → <c>{"count", "max_model_len", "tokens"}</c>)
/// and <c>POST /detokenize</c> (<c>{"tokens"}</c> → <c>{"prompt"}</c>): what clients use to budget context.
/// </summary>
public static class TokenizeApi
{
    public static IEndpointRouteBuilder MapTokenizeApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/tokenize", TokenizeAsync);
        endpoints.MapPost("/detokenize", DetokenizeAsync);
        return endpoints;
    }

    private static Task TokenizeAsync(HttpContext context, ModelRegistry registry, IOptions<InferenceServerOptions> options) =>
        OpenAiEndpoint.RunAsync(context, registry, options.Value, async (body, model) =>
        {
            string text;
            if (body.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null)
            {
                var generationPrompt = JsonRequest.OptionalBool(body, "add_generation_prompt") ?? true;
                text = model.ApplyChatTemplate(ChatCompletionsApi.ParseMessages(body), generationPrompt);
            }
            else
            {
                text = JsonRequest.OptionalString(body, "prompt") ?? throw OpenAiException.Missing("prompt");
            }

            var tokens = model.Encode(text);
            await TypedResults.Json(new JsonObject
            {
                ["count"] = tokens.Length,
                ["max_model_len"] = model.ContextLength,
                ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]),
            }).ExecuteAsync(context);
        });

    private static Task DetokenizeAsync(HttpContext context, ModelRegistry registry, IOptions<InferenceServerOptions> options) =>
        OpenAiEndpoint.RunAsync(context, registry, options.Value, async (body, model) =>
        {
            if (!body.TryGetProperty("tokens", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                throw OpenAiException.WrongType("tokens", "an array of token ids");
            }

            var tokens = new List<int>();
            var index = 0;
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
                {
                    throw OpenAiException.WrongType($"tokens[{index}]", "an integer token id");
                }

                tokens.Add(id);
                index++;
            }

            string text;
            try
            {
                text = model.Decode(tokens);
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw OpenAiException.Invalid("tokens", e.Message.Split(" (Parameter", 2)[0]);
            }

            await TypedResults.Json(new JsonObject { ["prompt"] = text }).ExecuteAsync(context);
        });
}
