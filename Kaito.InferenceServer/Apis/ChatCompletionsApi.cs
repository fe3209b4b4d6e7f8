using System.Text.Json;
using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;
using Kaito.InferenceServer.Serving;
using Kaito.InferenceServer.Telemetry;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Apis;

/// <summary><c>POST /v1/chat/completions</c>: OpenAI's chat API, whole or streamed.</summary>
public static class ChatCompletionsApi
{
    private static readonly Dictionary<string, string> Roles = new(StringComparer.Ordinal)
    {
        ["system"] = "system",
        ["developer"] = "system",
        ["user"] = "user",
        ["assistant"] = "assistant",
        ["tool"] = "user",
    };

    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/v1/chat/completions", HandleAsync);
        return endpoints;
    }

    private static Task HandleAsync(HttpContext context, ModelRegistry registry, GenerationScheduler scheduler,
        IOptions<InferenceServerOptions> options, InferenceTelemetry telemetry) => OpenAiEndpoint.RunAsync(context, registry, options.Value, async (body, model) =>
    {
        var aborted = context.RequestAborted;
        var messages = ParseMessages(body);
        var parameters = GenerationParameters.Parse(body, options.Value);
        var tools = ToolCalling.Parse(body);
        if (tools?.Constraint() is { } constraint)
        {
            parameters = parameters.Sampling.Guidance is not null
                ? throw OpenAiException.Invalid("response_format", "'response_format' cannot be combined with a required or named 'tool_choice'.")
                : parameters with { Sampling = parameters.Sampling with { Guidance = constraint } };
        }

        using var admission = Generation.Admit(scheduler, model);
        var prompt = model.ApplyChatTemplate(tools?.Describe(messages) ?? messages, addGenerationPrompt: true);
        var requests = Enumerable.Range(0, parameters.N).Select(i => Generation.Create(model, prompt, "messages", parameters.MaxTokens, 0,
            parameters.SamplingOf(i), parameters.Stop, aborted, parameters.ReturnTokenIds)).ToList();

        await Generation.RespondAsync(context, scheduler, telemetry, "chat", requests, parameters, options.Value.StreamInterval, admission, tools);
    });

    /// <summary>Messages with a known role and text content (a string, or text parts joined).</summary>
    public static List<PromptMessage> ParseMessages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Missing("messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.WrongType("messages", "an array of messages");
        }

        var result = new List<PromptMessage>();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.WrongType(path, "an object with 'role' and 'content'");
            }

            var role = JsonRequest.OptionalString(message, "role") ?? throw OpenAiException.Missing($"{path}.role");
            if (!Roles.TryGetValue(role, out var normalised))
            {
                throw OpenAiException.Invalid($"{path}.role",
                    $"'{role}' is not a supported role; use one of system, developer, user, assistant, tool.");
            }

            if (role == "tool")
            {
                _ = JsonRequest.OptionalString(message, "tool_call_id") ?? throw OpenAiException.Missing($"{path}.tool_call_id");
                result.Add(new PromptMessage(normalised, ToolCalling.RenderResult(Content(message, path))));
            }
            else if (role == "assistant" && message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0)
            {
                var text = message.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null ? Content(message, path) : "";
                var rendered = ToolCalling.Render(ParseCalls(calls, $"{path}.tool_calls"));
                result.Add(new PromptMessage(normalised, text.Length > 0 ? $"{text}\n{rendered}" : rendered));
            }
            else
            {
                result.Add(new PromptMessage(normalised, Content(message, path)));
            }
        }

        return result.Count == 0
            ? throw OpenAiException.Invalid("messages", "'messages' must contain at least one message.")
            : result;
    }

    /// <summary>An assistant message's <c>tool_calls</c>: each a function with a name and its arguments' JSON text.</summary>
    private static List<ToolCall> ParseCalls(JsonElement calls, string path)
    {
        var result = new List<ToolCall>();
        var index = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var at = $"{path}[{index++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Missing($"{at}.function");
            }

            var name = JsonRequest.OptionalString(function, "name") ?? throw OpenAiException.Missing($"{at}.function.name");
            var arguments = JsonRequest.OptionalString(function, "arguments") ?? "{}";
            try
            {
                using var parsed = JsonDocument.Parse(arguments);
                if (parsed.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw OpenAiException.WrongType($"{at}.function.arguments", "a JSON object's text");
                }
            }
            catch (JsonException)
            {
                throw OpenAiException.WrongType($"{at}.function.arguments", "a JSON object's text");
            }

            result.Add(new ToolCall(JsonRequest.OptionalString(call, "id") ?? "", name, arguments));
        }

        return result;
    }

    private static string Content(JsonElement message, string path)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Missing($"{path}.content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.WrongType($"{path}.content", "a string or an array of text parts");
        }

        var text = new System.Text.StringBuilder();
        var part = 0;
        foreach (var item in content.EnumerateArray())
        {
            var partPath = $"{path}.content[{part++}]";
            var type = item.ValueKind == JsonValueKind.Object ? JsonRequest.OptionalString(item, "type") : null;
            if (type != "text")
            {
                throw OpenAiException.Invalid(partPath, $"Content part type '{type}' is not supported; only text parts are.");
            }

            text.Append(JsonRequest.OptionalString(item, "text") ?? throw OpenAiException.Missing($"{partPath}.text"));
        }

        return text.ToString();
    }
}
