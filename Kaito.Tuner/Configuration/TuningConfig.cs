using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Tuner.Configuration;

/// <summary>
/// KAITO's <c>training_config.yaml</c> as the tuner uses it. Defaults are KAITO's lora template (the qlora template
/// adds <c>load_in_4bit: true</c>); keys the tuner does not use are reported as warnings by name; a wrong value is an
/// error naming section, key and line.
/// </summary>
public sealed class TuningConfig
{
    public bool LoadIn4Bit { get; private set; }

    /// <summary><c>bnb_4bit_use_double_quant</c>: the NF4 block scales are themselves stored in 8 bits.</summary>
    public bool DoubleQuant { get; private set; }

    public int Rank { get; private set; } = 8;

    public double Alpha { get; private set; } = 8;

    public double Dropout { get; private set; }

    /// <summary>LoraConfig.target_modules; null means PEFT's default for the model's architecture.</summary>
    public IReadOnlyList<string>? TargetModules { get; private set; }

    public double Epochs { get; private set; } = 3;

    /// <summary>Overrides <see cref="Epochs"/> when positive.</summary>
    public int MaxSteps { get; private set; } = -1;

    public int BatchSize { get; private set; } = 1;

    public int GradientAccumulationSteps { get; private set; } = 1;

    public double LearningRate { get; private set; } = 2e-4;

    public string Scheduler { get; private set; } = "linear";

    public double WarmupRatio { get; private set; }

    public int WarmupSteps { get; private set; }

    public double WeightDecay { get; private set; }

    public double MaxGradNorm { get; private set; } = 1.0;

    public int SaveSteps { get; private set; } = 500;

    public int LoggingSteps { get; private set; } = 10;

    public int Seed { get; private set; } = 42;

    public string OutputDirectory { get; private set; } = "/mnt/results";

    public string? DatasetPath { get; private set; }

    public string? DatasetExtension { get; private set; }

    public bool Shuffle { get; private set; } = true;

    public int ShuffleSeed { get; private set; } = 42;

    public double TrainTestSplit { get; private set; } = 1;

    public string MessagesColumn { get; private set; } = "messages";

    public string? ContextColumn { get; private set; }

    public string ResponseColumn { get; private set; } = "text";

    public int MaxSequenceLength { get; private set; } = 1024;

    /// <summary>Train only on the assistant's tokens (default), or on the whole rendered conversation.</summary>
    public bool AssistantOnlyLoss { get; private set; } = true;

    public List<string> Warnings { get; } = [];

    public static TuningConfig Parse(string yaml, string source = "training_config.yaml")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        YamlStream stream;
        try
        {
            stream = Kaito.Api.Serialization.BoundedYaml.Load(yaml);
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{source} line {e.Start.Line}: invalid YAML: {e.InnerException?.Message ?? e.Message}", e);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("training_config"), out var node) || node is not YamlMappingNode sections)
        {
            throw new InvalidDataException($"{source}: the top-level map training_config is missing.");
        }

        var config = new TuningConfig();
        config.Warnings.AddRange(Kaito.Api.Validation.TrainingConfigValidator.NotApplied(yaml).Select(n => n.Replace(Kaito.Api.Validation.TrainingConfigValidator.FileName, source, StringComparison.Ordinal)));
        foreach (var (key, value) in sections.Children)
        {
            var section = ((YamlScalarNode)key).Value ?? "";
            if (value is YamlScalarNode { Value: null or "" or "null" or "~" })
            {
                continue;
            }

            if (value is not YamlMappingNode map)
            {
                throw new InvalidDataException($"{source} line {value.Start.Line}: {section} must be a map.");
            }

            var reader = new SectionReader(source, section, map, config.Warnings);
            switch (section)
            {
                case "ModelConfig":
                    // Loading options for transformers; the tuner loads the base model from --model.
                    reader.IgnoreAll();
                    break;
                case "QuantizationConfig":
                    config.LoadIn4Bit = reader.Bool("load_in_4bit", false);
                    // QLoRA's 4-bit type: NF4 is what KAITO's qlora template asks for; FP4 is not built.
                    reader.OneOf("bnb_4bit_quant_type", "nf4", "nf4");
                    if (reader.Bool("load_in_8bit", false))
                    {
                        throw new InvalidDataException($"{source}: QuantizationConfig.load_in_8bit is not supported; use load_in_4bit (QLoRA, NF4) or neither (LoRA).");
                    }

                    config.DoubleQuant = reader.Bool("bnb_4bit_use_double_quant", false);
                    // The forward pass dequantises to F32 on CPU; bfloat16 compute is a GPU-build matter.
                    reader.Known("bnb_4bit_compute_dtype");
                    break;
                case "LoraConfig":
                    config.Rank = reader.Int("r", config.Rank, min: 1);
                    config.Alpha = reader.Double("lora_alpha", config.Alpha, min: 0);
                    config.Dropout = reader.Double("lora_dropout", config.Dropout, min: 0, max: 0.99);
                    config.TargetModules = reader.Strings("target_modules") ?? config.TargetModules;
                    reader.Known("bias", "task_type", "init_lora_weights", "layers_to_transform", "fan_in_fan_out", "modules_to_save");
                    break;
                case "TrainingArguments":
                    config.OutputDirectory = reader.String("output_dir") ?? config.OutputDirectory;
                    config.Epochs = reader.Double("num_train_epochs", config.Epochs, min: 0);
                    config.MaxSteps = reader.Int("max_steps", config.MaxSteps, min: -1);
                    config.BatchSize = reader.Int("per_device_train_batch_size", config.BatchSize, min: 1);
                    config.GradientAccumulationSteps = reader.Int("gradient_accumulation_steps", config.GradientAccumulationSteps, min: 1);
                    config.LearningRate = reader.Double("learning_rate", config.LearningRate, min: 0);
                    config.Scheduler = reader.OneOf("lr_scheduler_type", config.Scheduler, "linear", "cosine", "constant", "constant_with_warmup");
                    config.WarmupRatio = reader.Double("warmup_ratio", config.WarmupRatio, min: 0, max: 1);
                    config.WarmupSteps = reader.Int("warmup_steps", config.WarmupSteps, min: 0);
                    config.WeightDecay = reader.Double("weight_decay", config.WeightDecay, min: 0);
                    config.MaxGradNorm = reader.Double("max_grad_norm", config.MaxGradNorm, min: 0);
                    config.SaveSteps = reader.Int("save_steps", config.SaveSteps, min: 1);
                    config.LoggingSteps = reader.Int("logging_steps", config.LoggingSteps, min: 1);
                    config.Seed = reader.Int("seed", config.Seed, min: 0);
                    config.MaxSequenceLength = reader.Int("max_seq_length", config.MaxSequenceLength, min: 8);
                    reader.Known("ddp_find_unused_parameters", "save_strategy", "logging_dir", "report_to", "gradient_checkpointing",
                        "bf16", "fp16", "optim", "remove_unused_columns", "dataloader_num_workers", "evaluation_strategy", "eval_strategy");
                    break;
                case "DataCollator":
                    reader.Known("mlm", "mlm_probability", "pad_to_multiple_of");
                    break;
                case "DatasetConfig":
                    config.DatasetPath = reader.String("dataset_path");
                    config.DatasetExtension = reader.String("dataset_extension");
                    config.Shuffle = reader.Bool("shuffle_dataset", config.Shuffle);
                    config.ShuffleSeed = reader.Int("shuffle_seed", config.ShuffleSeed, min: 0);
                    config.TrainTestSplit = reader.Double("train_test_split", config.TrainTestSplit, min: 0.01, max: 1);
                    config.MessagesColumn = reader.String("messages_column") ?? config.MessagesColumn;
                    config.ContextColumn = reader.String("context_column");
                    config.ResponseColumn = reader.String("response_column") ?? config.ResponseColumn;
                    config.MaxSequenceLength = reader.Int("max_seq_length", config.MaxSequenceLength, min: 8);
                    config.AssistantOnlyLoss = reader.Bool("assistant_only_loss", config.AssistantOnlyLoss);
                    break;
                default:
                    config.Warnings.Add($"{source} line {key.Start.Line}: unknown section {section} is ignored");
                    continue;
            }

            reader.WarnUnread();
        }

        if (config.OutputDirectory != "/mnt" && !config.OutputDirectory.StartsWith("/mnt/", StringComparison.Ordinal) && Path.IsPathRooted(config.OutputDirectory))
        {
            config.Warnings.Add($"{source}: TrainingArguments.output_dir {config.OutputDirectory} is not under /mnt; the tuner writes to --output");
        }

        return config;
    }

    private sealed class SectionReader(string source, string section, YamlMappingNode map, List<string> warnings)
    {
        private readonly HashSet<string> _read = new(StringComparer.Ordinal);

        public void IgnoreAll()
        {
            foreach (var key in map.Children.Keys)
            {
                _read.Add(((YamlScalarNode)key).Value ?? "");
            }
        }

        public void Known(params string[] keys)
        {
            foreach (var key in keys)
            {
                _read.Add(key);
            }
        }

        public void WarnUnread()
        {
            foreach (var key in map.Children.Keys.Cast<YamlScalarNode>().Where(k => !_read.Contains(k.Value ?? "")))
            {
                warnings.Add($"{source} line {key.Start.Line}: unknown key {section}.{key.Value} is ignored");
            }
        }

        public string? String(string key) => Scalar(key)?.Value;

        public bool Bool(string key, bool fallback) => Parse(key, fallback, text => text.ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => null,
        }, "true or false");

        public int Int(string key, int fallback, int min) => Parse<int>(key, fallback,
            text => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min ? v : null,
            $"an integer ≥ {min}");

        public double Double(string key, double fallback, double min, double max = double.MaxValue) => Parse<double>(key, fallback,
            text => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v : null,
            max == double.MaxValue ? $"a number ≥ {min}" : $"a number from {min} to {max}");

        public string OneOf(string key, string fallback, params string[] allowed) => Parse(key, fallback,
            text => allowed.Contains(text) ? text : null, string.Join(", ", allowed));

        public IReadOnlyList<string>? Strings(string key)
        {
            _read.Add(key);
            if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
            {
                return null;
            }

            return node switch
            {
                YamlSequenceNode list => [.. list.Children.Select(c => (c as YamlScalarNode)?.Value
                    ?? throw new InvalidDataException($"{source} line {c.Start.Line}: {section}.{key} must be a list of names."))],
                YamlScalarNode scalar when !string.IsNullOrEmpty(scalar.Value) && scalar.Value != "all-linear" => [scalar.Value],
                YamlScalarNode { Value: "all-linear" } => ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                _ => throw new InvalidDataException($"{source} line {node.Start.Line}: {section}.{key} must be a list of module names."),
            };
        }

        private T Parse<T>(string key, T fallback, Func<string, T?> parse, string expected)
            where T : struct
        {
            var scalar = Scalar(key);
            if (scalar?.Value is null)
            {
                return fallback;
            }

            return parse(scalar.Value) ?? throw new InvalidDataException(
                $"{source} line {scalar.Start.Line}: {section}.{key} is '{scalar.Value}'; it must be {expected}.");
        }

        private string Parse(string key, string fallback, Func<string, string?> parse, string expected)
        {
            var scalar = Scalar(key);
            if (scalar?.Value is null)
            {
                return fallback;
            }

            return parse(scalar.Value) ?? throw new InvalidDataException(
                $"{source} line {scalar.Start.Line}: {section}.{key} is '{scalar.Value}'; it must be one of {expected}.");
        }

        private YamlScalarNode? Scalar(string key)
        {
            _read.Add(key);
            if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
            {
                return null;
            }

            return node as YamlScalarNode ?? throw new InvalidDataException($"{source} line {node.Start.Line}: {section}.{key} must be a single value.");
        }
    }
}
