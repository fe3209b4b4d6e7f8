using Kaito.Models.Tokenizers;

namespace Kaito.Tuner.Data;

/// <summary>
/// Renders a conversation into token ids and labels with the model's chat template, so the loss can cover the
/// assistant's tokens only. The template families of KAITO's presets are recognised from the model's
/// <c>chat_template</c> — ChatML (Qwen, the tiny model), Llama 3, Phi-3 and Mistral — and rendered as those templates
/// do; a template outside them is refused by name rather than guessed.
/// </summary>
public sealed class ChatFormat
{
    private readonly BpeTokenizer _tokenizer;
    private readonly Family _family;

    private enum Family
    {
        ChatMl,
        Llama3,
        Phi3,
        Mistral,
    }

    public ChatFormat(BpeTokenizer tokenizer, string? chatTemplate)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _family = chatTemplate switch
        {
            null => throw new InvalidDataException("the base model has no chat_template in tokenizer_config.json; conversations cannot be rendered"),
            _ when chatTemplate.Contains("<|im_start|>", StringComparison.Ordinal) => Family.ChatMl,
            _ when chatTemplate.Contains("<|start_header_id|>", StringComparison.Ordinal) => Family.Llama3,
            _ when chatTemplate.Contains("<|assistant|>", StringComparison.Ordinal) => Family.Phi3,
            _ when chatTemplate.Contains("[INST]", StringComparison.Ordinal) => Family.Mistral,
            _ => throw new InvalidDataException(
                $"the model's chat template ('{chatTemplate[..Math.Min(60, chatTemplate.Length)]}…') is not one the tuner renders " +
                "(ChatML, Llama 3, Phi-3, Mistral)"),
        };
    }

    public string FamilyName => _family.ToString();

    /// <summary>Token ids and labels (−100 where no loss is taken) of a conversation.</summary>
    public (List<int> Ids, List<int> Labels) Render(IReadOnlyList<(string Role, string Content)> messages, bool assistantOnly)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var ids = new List<int>();
        var labels = new List<int>();
        void Add(string text, bool train)
        {
            foreach (var id in _tokenizer.Encode(text))
            {
                ids.Add(id);
                labels.Add(train || !assistantOnly ? id : -100);
            }
        }

        switch (_family)
        {
            case Family.ChatMl:
                foreach (var (role, content) in messages)
                {
                    Add($"<|im_start|>{role}\n", false);
                    Add($"{content}<|im_end|>", role == "assistant");
                    Add("\n", false);
                }

                break;
            case Family.Llama3:
                Add("<|begin_of_text|>", false);
                foreach (var (role, content) in messages)
                {
                    Add($"<|start_header_id|>{role}<|end_header_id|>\n\n", false);
                    Add($"{content.Trim()}<|eot_id|>", role == "assistant");
                }

                break;
            case Family.Phi3:
                foreach (var (role, content) in messages)
                {
                    Add($"<|{role}|>\n", false);
                    Add($"{content}<|end|>", role == "assistant");
                    Add("\n", false);
                }

                break;
            case Family.Mistral:
                Add("<s>", false);
                var system = messages.FirstOrDefault(m => m.Role == "system").Content;
                foreach (var (role, content) in messages.Where(m => m.Role != "system"))
                {
                    if (role == "user")
                    {
                        Add($"[INST] {(system is null ? "" : system + "\n\n")}{content} [/INST]", false);
                        system = null;
                    }
                    else
                    {
                        Add($"{content}</s>", true);
                    }
                }

                break;
        }

        return (ids, labels);
    }

    /// <summary>Plain text rows: every token is trained.</summary>
    public (List<int> Ids, List<int> Labels) RenderText(string text)
    {
        var ids = _tokenizer.Encode(text).ToList();
        return (ids, [.. ids]);
    }
}
