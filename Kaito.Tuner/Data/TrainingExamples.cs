using System.Text.Json.Nodes;
using Kaito.Tuner.Configuration;

namespace Kaito.Tuner.Data;

/// <summary>One tokenized training example.</summary>
public sealed record TrainingExample(int[] Ids, int[] Labels);

/// <summary>
/// Turns dataset rows into tokenized examples: OpenAI-style <c>messages</c>, <c>prompt</c>/<c>completion</c>, KAITO's
/// context/response columns, alpaca <c>instruction</c>/<c>input</c>/<c>output</c>, or plain <c>text</c>. A row that
/// cannot be used is reported with its index and reason; no usable row at all is an error.
/// </summary>
public static class TrainingExamples
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant"];

    public static List<TrainingExample> Build(IReadOnlyList<JsonObject> rows, TuningConfig config, ChatFormat format, List<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(warnings);
        if (rows.Count == 0)
        {
            throw new InvalidDataException("the dataset has no rows");
        }

        var examples = new List<TrainingExample>();
        var skipped = 0;
        for (var index = 0; index < rows.Count; index++)
        {
            var (example, problem) = Convert(rows[index], config, format);
            if (example is null)
            {
                if (skipped++ < 20)
                {
                    warnings.Add($"row {index}: {problem}; skipped");
                }

                continue;
            }

            examples.Add(example);
        }

        if (skipped > 20)
        {
            warnings.Add($"… and {skipped - 20} more rows skipped");
        }

        if (examples.Count == 0)
        {
            var columns = string.Join(", ", rows[0].Select(p => p.Key));
            throw new InvalidDataException(
                $"no usable row in {rows.Count}: rows need '{config.MessagesColumn}', prompt/completion, instruction/output or " +
                $"'{config.ResponseColumn}' columns (the first row has {columns})");
        }

        return examples;
    }

    private static (TrainingExample?, string?) Convert(JsonObject row, TuningConfig config, ChatFormat format)
    {
        List<(string Role, string Content)>? messages = null;
        if (row[config.MessagesColumn] is JsonArray array)
        {
            messages = [];
            for (var i = 0; i < array.Count; i++)
            {
                if (array[i] is not JsonObject message || message["role"]?.GetValue<string>() is not { } role || !Roles.Contains(role)
                    || message["content"] is not JsonValue content)
                {
                    return (null, $"{config.MessagesColumn}[{i}] needs a role (system, user, assistant) and text content");
                }

                messages.Add((role, content.ToString()));
            }
        }
        else if (Text(row, "prompt") is { } prompt && Text(row, "completion") is { } completion)
        {
            messages = [("user", prompt), ("assistant", completion)];
        }
        else if (Text(row, "instruction") is { } instruction && Text(row, "output") is { } output)
        {
            var input = Text(row, "input");
            messages = [("user", string.IsNullOrWhiteSpace(input) ? instruction : $"{instruction}\n\n{input}"), ("assistant", output)];
        }
        else if (config.ContextColumn is { } context && Text(row, context) is { } contextText && Text(row, config.ResponseColumn) is { } response)
        {
            messages = [("user", contextText), ("assistant", response)];
        }

        (List<int> Ids, List<int> Labels) rendered;
        if (messages is not null)
        {
            if (!messages.Any(m => m.Role == "assistant"))
            {
                return (null, "the conversation has no assistant message to learn from");
            }

            rendered = format.Render(messages, config.AssistantOnlyLoss);
        }
        else if (Text(row, config.ResponseColumn) is { Length: > 0 } text)
        {
            rendered = format.RenderText(text);
        }
        else
        {
            return (null, $"no {config.MessagesColumn}, prompt/completion, instruction/output or {config.ResponseColumn} column");
        }

        var length = Math.Min(rendered.Ids.Count, config.MaxSequenceLength);
        var labels = rendered.Labels.Take(length).ToArray();
        return labels.All(l => l < 0)
            ? (null, $"nothing to learn within max_seq_length {config.MaxSequenceLength}")
            : (new TrainingExample([.. rendered.Ids.Take(length)], labels), null);
    }

    private static string? Text(JsonObject row, string column) => row[column] is JsonValue value ? value.ToString() : null;
}
