using System.Globalization;
using Kaito.Api.Workspaces;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Validation;

/// <summary>
/// KAITO's rules for a <c>training_config.yaml</c>: the sections it may have, the quantisation a method needs, and an
/// output folder under <c>/mnt</c>. Each problem names its line.
/// </summary>
public static class TrainingConfigValidator
{
    /// <summary>The ConfigMap key holding the training configuration.</summary>
    public const string FileName = "training_config.yaml";

    /// <summary>The sections KAITO's tuner reads.</summary>
    public static readonly IReadOnlyList<string> Sections =
        ["ModelConfig", "QuantizationConfig", "LoraConfig", "TrainingArguments", "DatasetConfig", "DataCollator"];

    /// <summary>
    /// Settings of <paramref name="yaml"/> that KAITO's tuner (Hugging Face's Trainer) would apply and Kaito's does not,
    /// each with what happens instead, by line: mixed precision, another optimiser, gradient checkpointing, a save
    /// strategy, ModelConfig's and the DataCollator's options, a compute dtype. Empty when nothing is set that way.
    /// </summary>
    public static IReadOnlyList<string> NotApplied(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        YamlStream stream;
        try
        {
            stream = Serialization.BoundedYaml.Load(yaml);
        }
        catch (YamlException)
        {
            return [];
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("training_config"), out var node) || node is not YamlMappingNode config)
        {
            return [];
        }

        var notes = new List<string>();
        void Note(YamlNode at, string message) => notes.Add($"{FileName} line {at.Start.Line}: {message}");
        foreach (var (sectionKey, sectionValue) in config.Children)
        {
            if (sectionValue is not YamlMappingNode section)
            {
                continue;
            }

            foreach (var (key, value) in section.Children)
            {
                var name = $"{((YamlScalarNode)sectionKey).Value}.{((YamlScalarNode)key).Value}";
                var text = (value as YamlScalarNode)?.Value ?? "";
                var yes = text.Equals("true", StringComparison.OrdinalIgnoreCase);
                switch (name)
                {
                    case "TrainingArguments.bf16" or "TrainingArguments.fp16" when yes:
                        Note(key, $"{name} is not applied: training computes in F32");
                        break;
                    case "TrainingArguments.optim" when !text.StartsWith("adamw", StringComparison.OrdinalIgnoreCase):
                        Note(key, $"{name} {text} is not applied: the optimiser is AdamW");
                        break;
                    case "TrainingArguments.gradient_checkpointing" when yes:
                        Note(key, $"{name} is not applied: activations are kept for the backward pass (memory grows with max_seq_length)");
                        break;
                    case "TrainingArguments.save_strategy" when text is not "steps":
                        Note(key, $"{name} {text} is not applied: a checkpoint is written every save_steps, so a restarted job resumes where it was");
                        break;
                    case "QuantizationConfig.bnb_4bit_compute_dtype" when text is not ("float32" or "torch.float32"):
                        Note(key, $"{name} {text} is not applied: NF4 weights are dequantised to F32 for compute");
                        break;
                    case "ModelConfig.torch_dtype" when text is not ("float32" or "torch.float32" or "auto"):
                        Note(key, $"{name} {text} is not applied: the base weights are held in F32 (NF4 with QLoRA)");
                        break;
                    case "ModelConfig.trust_remote_code" or "ModelConfig.revision" or "ModelConfig.attn_implementation" or "ModelConfig.chat_template":
                        Note(key, $"{name} is not applied: the tuner loads the base model from the preset's weights with its own chat template handling");
                        break;
                    case "DataCollator.mlm" when yes:
                    case "DataCollator.mlm_probability" or "DataCollator.pad_to_multiple_of":
                        Note(key, $"{name} is not applied: the loss is causal language modelling, sequences padded to the longest in the batch");
                        break;
                }
            }
        }

        return notes;
    }

    /// <summary>Returns the problems of <paramref name="yaml"/> for tuning method <paramref name="method"/> (lora or qlora).</summary>
    public static IReadOnlyList<string> Validate(string yaml, string? method)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var problems = new List<string>();

        YamlStream stream;
        try
        {
            stream = Serialization.BoundedYaml.Load(yaml);
        }
        catch (YamlException ex)
        {
            return [$"{FileName} line {ex.Start.Line}: invalid YAML: {ex.InnerException?.Message ?? ex.Message}"];
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root ||
            !root.Children.TryGetValue(new YamlScalarNode("training_config"), out var configNode))
        {
            return [$"{FileName}: the top-level key training_config is missing"];
        }

        if (configNode is not YamlMappingNode config)
        {
            return [$"{FileName} line {configNode.Start.Line}: training_config must be a map"];
        }

        foreach (var (key, value) in config.Children)
        {
            var section = ((YamlScalarNode)key).Value ?? "";
            if (!Sections.Contains(section))
            {
                problems.Add($"{FileName} line {key.Start.Line}: unknown section {section}; allowed sections are {string.Join(", ", Sections)}");
            }
            else if (value is not YamlMappingNode && !IsNull(value))
            {
                problems.Add($"{FileName} line {value.Start.Line}: {section} must be a map");
            }
        }

        var quantization = Section(config, "QuantizationConfig");
        var load4 = Boolean(quantization, "load_in_4bit", problems);
        var load8 = Boolean(quantization, "load_in_8bit", problems);
        if (load4 == true && load8 == true)
        {
            problems.Add($"{FileName}: QuantizationConfig cannot set both load_in_4bit and load_in_8bit to true");
        }

        if (TuningMethods.IsQLora(method))
        {
            if (quantization is null || (load4 != true && load8 != true))
            {
                problems.Add($"{FileName}: qlora needs QuantizationConfig with load_in_4bit (or load_in_8bit) set to true");
            }
        }
        else if (string.Equals(method, TuningMethods.Lora, StringComparison.OrdinalIgnoreCase) && (load4 == true || load8 == true))
        {
            problems.Add($"{FileName}: lora trains full-precision weights; set load_in_4bit and load_in_8bit to false, or use method qlora");
        }

        ValidateOutputDirectory(Section(config, "TrainingArguments"), problems);
        return problems;
    }

    /// <summary>KAITO's default <c>training_config.yaml</c> for a method (the lora or qlora params template).</summary>
    public static string DefaultTemplate(string? method) =>
        Catalog.YamlDocuments.ReadEmbedded(TuningMethods.IsQLora(method) ? "training-config-qlora.yaml" : "training-config-lora.yaml");

    /// <summary>The default results folder when <c>TrainingArguments.output_dir</c> is not given.</summary>
    public const string DefaultOutputDirectory = "/mnt/results";

    /// <summary>
    /// <c>TrainingArguments.output_dir</c> of a configuration, cleaned, where the tuning job's results volume is mounted;
    /// <see cref="DefaultOutputDirectory"/> when it is absent or the YAML cannot say (validation reports that).
    /// </summary>
    public static string OutputDirectory(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        YamlStream stream;
        try
        {
            stream = Serialization.BoundedYaml.Load(yaml);
        }
        catch (YamlException)
        {
            return DefaultOutputDirectory;
        }

        return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root
            && root.Children.TryGetValue(new YamlScalarNode("training_config"), out var config) && config is YamlMappingNode mapping
            && Section(mapping, "TrainingArguments") is { } arguments
            && arguments.Children.TryGetValue(new YamlScalarNode("output_dir"), out var node) && node is YamlScalarNode { Value: { Length: > 0 } value }
            && CleanPosixPath(value) is var cleaned && cleaned.StartsWith("/mnt/", StringComparison.Ordinal)
                ? cleaned
                : DefaultOutputDirectory;
    }

    private static void ValidateOutputDirectory(YamlMappingNode? arguments, List<string> problems)
    {
        if (arguments is null || !arguments.Children.TryGetValue(new YamlScalarNode("output_dir"), out var node) || IsNull(node))
        {
            return;
        }

        if (node is not YamlScalarNode { Value: { Length: > 0 } value } || (node is YamlScalarNode s && s.Style == ScalarStyle.Plain && IsNonString(s.Value!)))
        {
            problems.Add($"{FileName} line {node.Start.Line}: TrainingArguments.output_dir must be a string");
            return;
        }

        var cleaned = CleanPosixPath(value);
        if (!cleaned.StartsWith("/mnt/", StringComparison.Ordinal))
        {
            problems.Add($"{FileName} line {node.Start.Line}: TrainingArguments.output_dir '{value}' must be a sub-directory of /mnt");
        }
    }

    /// <summary>Resolves <c>.</c> and <c>..</c> the way Go's <c>filepath.Clean</c> does for absolute paths.</summary>
    private static string CleanPosixPath(string path)
    {
        if (!path.StartsWith('/'))
        {
            return path;
        }

        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    private static YamlMappingNode? Section(YamlMappingNode config, string name) =>
        config.Children.TryGetValue(new YamlScalarNode(name), out var node) ? node as YamlMappingNode : null;

    private static bool? Boolean(YamlMappingNode? section, string key, List<string> problems)
    {
        if (section is null || !section.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            return null;
        }

        return node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "True" or "TRUE" } ? true
            : node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "false" or "False" or "FALSE" } ? false
            : Invalid();

        bool? Invalid()
        {
            problems.Add($"{FileName} line {node.Start.Line}: QuantizationConfig.{key} must be a boolean");
            return null;
        }
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static bool IsNonString(string plain) =>
        plain is "true" or "false" or "True" or "False" || double.TryParse(plain, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
