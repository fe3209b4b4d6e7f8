using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kaito.InferenceServer.Engine;

namespace Kaito.InferenceServer.Apis;

/// <summary>A function the client offers the model.</summary>
public sealed record ToolDefinition(string Name, string? Description, JsonObject Parameters);

/// <summary>A call the model made: an id the client answers with, the function and its arguments (a JSON object's text).</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>
/// OpenAI's tool calling (<c>tools</c>, <c>tool_choice</c>, assistant <c>tool_calls</c>, <c>tool</c> messages) in the
/// Hermes format that Qwen's templates and vLLM's <c>hermes</c> parser use: the tools are described to the model in the
/// system turn inside <c>&lt;tools&gt;</c>, a call is <c>&lt;tool_call&gt;{"name", "arguments"}&lt;/tool_call&gt;</c>, a
/// result comes back as <c>&lt;tool_response&gt;</c> in a user turn. <c>required</c> and a named function are enforced
/// with constrained decoding (the call's JSON, the arguments by the function's schema), so even a small model calls
/// correctly; <c>auto</c> parses what the model wrote.
/// </summary>
public sealed partial class ToolCalling
{
    /// <summary>Most tools one request may offer.</summary>
    public const int MaxTools = 128;

    private ToolCalling(IReadOnlyList<ToolDefinition> tools, string choice, string? named)
    {
        Tools = tools;
        Choice = choice;
        Named = named;
    }

    public IReadOnlyList<ToolDefinition> Tools { get; }

    /// <summary><c>auto</c>, <c>required</c> or <c>named</c> (<c>none</c> is no tool calling at all: <see cref="Parse"/> returns null).</summary>
    public string Choice { get; }

    public string? Named { get; }

    /// <summary>The tools and choice of a chat request; null when it offers none or says <c>tool_choice: none</c>.</summary>
    public static ToolCalling? Parse(JsonElement body)
    {
        if (!body.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return body.TryGetProperty("tool_choice", out var orphan) && orphan.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
                   && !(orphan.ValueKind == JsonValueKind.String && orphan.GetString() == "none")
                ? throw OpenAiException.Invalid("tool_choice", "'tool_choice' needs 'tools'.")
                : null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.WrongType("tools", "an array of tools");
        }

        if (tools.GetArrayLength() > MaxTools)
        {
            throw OpenAiException.Invalid("tools", $"At most {MaxTools} tools are allowed, got {tools.GetArrayLength()}.");
        }

        var definitions = new List<ToolDefinition>();
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{index++}]";
            if (tool.ValueKind != JsonValueKind.Object || JsonRequest.OptionalString(tool, "type") != "function")
            {
                throw OpenAiException.Invalid($"{path}.type", "Only tools of type 'function' are supported.");
            }

            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Missing($"{path}.function");
            }

            var name = JsonRequest.OptionalString(function, "name") ?? throw OpenAiException.Missing($"{path}.function.name");
            if (!FunctionName().IsMatch(name))
            {
                throw OpenAiException.Invalid($"{path}.function.name", $"'{name}' is not a function name: 1 to 64 letters, digits, '_' or '-'.");
            }

            if (definitions.Any(d => d.Name == name))
            {
                throw OpenAiException.Invalid($"{path}.function.name", $"The function '{name}' is defined twice.");
            }

            var parameters = function.TryGetProperty("parameters", out var schema) && schema.ValueKind != JsonValueKind.Null
                ? schema.ValueKind == JsonValueKind.Object ? JsonNode.Parse(schema.GetRawText())!.AsObject()
                    : throw OpenAiException.WrongType($"{path}.function.parameters", "a JSON Schema object")
                : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
            definitions.Add(new ToolDefinition(name, JsonRequest.OptionalString(function, "description"), parameters));
        }

        var (choice, named) = ParseChoice(body, definitions);
        return choice == "none" || definitions.Count == 0 ? null : new ToolCalling(definitions, choice, named);
    }

    /// <summary>
    /// For <c>required</c> or a named function: the call's JSON, constrained — <c>{"name": one of the tools,
    /// "arguments": that tool's schema}</c>. Null for <c>auto</c>.
    /// </summary>
    public Guidance? Constraint()
    {
        if (Choice == "auto")
        {
            return null;
        }

        var options = Tools.Where(t => Choice == "required" || t.Name == Named).Select(t => (JsonNode)new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["const"] = t.Name },
                ["arguments"] = t.Parameters.DeepClone(),
            },
            ["required"] = new JsonArray("name", "arguments"),
            ["additionalProperties"] = false,
        }).ToArray();
        var schema = options.Length == 1 ? options[0]!.AsObject() : new JsonObject { ["anyOf"] = new JsonArray(options) };
        schema["x-guidance"] = new JsonObject { ["whitespace_flexible"] = false };
        return new Guidance("json_schema", schema.ToJsonString());
    }

    /// <summary>The messages with the tools described in the system turn, calls and results in the Hermes format.</summary>
    public List<PromptMessage> Describe(IReadOnlyList<PromptMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var lines = string.Join('\n', Tools.Select(t => new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = t.Name, ["description"] = t.Description, ["parameters"] = t.Parameters.DeepClone() },
        }.ToJsonString()));
        var instructions = "# Tools\n\nYou can call functions to help with the user's request. Their signatures are inside <tools></tools>:\n"
                           + $"<tools>\n{lines}\n</tools>\n\n"
                           + "To call a function, answer with a JSON object holding its name and arguments inside <tool_call></tool_call>:\n"
                           + "<tool_call>\n{\"name\": <function name>, \"arguments\": <arguments as a JSON object>}\n</tool_call>";
        var result = messages.ToList();
        if (result.Count > 0 && result[0].Role == "system")
        {
            result[0] = result[0] with { Content = $"{result[0].Content}\n\n{instructions}" };
        }
        else
        {
            result.Insert(0, new PromptMessage("system", instructions));
        }

        return result;
    }

    /// <summary>An assistant turn's calls as the model writes them.</summary>
    public static string Render(IReadOnlyList<ToolCall> calls) =>
        string.Join('\n', calls.Select(c => $"<tool_call>\n{{\"name\": {JsonSerializer.Serialize(c.Name)}, \"arguments\": {c.Arguments}}}\n</tool_call>"));

    /// <summary>A tool's result as the model reads it.</summary>
    public static string RenderResult(string content) => $"<tool_response>\n{content}\n</tool_response>";

    /// <summary>
    /// The calls in what the model generated, and the text outside them (null when only calls): with a constraint the
    /// whole output is one call; with <c>auto</c> every well-formed <c>&lt;tool_call&gt;</c> block naming an offered tool.
    /// </summary>
    public (string? Content, List<ToolCall> Calls) Read(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        if (Choice != "auto")
        {
            return TryCall(generated) is { } call ? (null, [call]) : (generated, []);
        }

        var calls = new List<ToolCall>();
        var content = Block().Replace(generated, match =>
        {
            if (TryCall(match.Groups[1].Value) is { } call)
            {
                calls.Add(call);
                return "";
            }

            return match.Value;
        });
        return (calls.Count > 0 && string.IsNullOrWhiteSpace(content) ? null : calls.Count > 0 ? content.Trim() : generated, calls);
    }

    private ToolCall? TryCall(string json)
    {
        try
        {
            if (JsonNode.Parse(json) is JsonObject call && (string?)call["name"] is { } name && Tools.Any(t => t.Name == name)
                && call["arguments"] is JsonObject arguments)
            {
                return new ToolCall($"call_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}", name, arguments.ToJsonString());
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static (string Choice, string? Named) ParseChoice(JsonElement body, List<ToolDefinition> tools)
    {
        if (!body.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return ("auto", null);
        }

        if (choice.ValueKind == JsonValueKind.String)
        {
            var mode = choice.GetString();
            return mode is "none" or "auto" or "required"
                ? (mode, null)
                : throw OpenAiException.Invalid("tool_choice", $"'{choice.GetString()}' is not a tool choice; use none, auto, required or a function.");
        }

        if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.WrongType("tool_choice", "none, auto, required or {\"type\": \"function\", \"function\": {\"name\"}}");
        }

        var name = JsonRequest.OptionalString(function, "name") ?? throw OpenAiException.Missing("tool_choice.function.name");
        return tools.Any(t => t.Name == name)
            ? ("named", name)
            : throw OpenAiException.Invalid("tool_choice.function.name", $"The function '{name}' is not among the tools.");
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();

    [GeneratedRegex(@"<tool_call>\s*(\{.*?\})\s*</tool_call>", RegexOptions.Singleline)]
    private static partial Regex Block();
}
