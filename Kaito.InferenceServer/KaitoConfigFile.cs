using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.InferenceServer;

/// <summary>
/// KAITO's inference ConfigMap (<c>--kaito-config-file /mnt/config/inference_config.yaml</c>): the <c>vllm:</c> section's
/// engine arguments this server has, as settings under <c>Inference:</c> that explicit command-line switches override.
/// <c>max-model-len</c> sets the context length and <c>max-num-seqs</c> the batch size; the vLLM-only keys
/// (gpu-memory-utilization, tensor-parallel-size, ...) are listed as ignored. A file that cannot be read or parsed is
/// an error naming it and the line.
/// </summary>
public static partial class KaitoConfigFile
{
    private static readonly Dictionary<string, string> s_keys = new(StringComparer.Ordinal)
    {
        ["max-model-len"] = $"{InferenceServerOptions.SectionName}:{nameof(InferenceServerOptions.ContextLength)}",
        ["max-num-seqs"] = $"{InferenceServerOptions.SectionName}:{nameof(InferenceServerOptions.MaxBatchSize)}",
    };

    /// <summary>The settings the file gives, and the keys it has that this server does not use.</summary>
    /// <exception cref="InvalidDataException">The file is missing, is not YAML, or a used value is not a positive integer.</exception>
    public static (Dictionary<string, string?> Settings, List<string> Ignored) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"--kaito-config-file {path} does not exist");
        }

        YamlStream stream;
        try
        {
            stream = Kaito.Api.Serialization.BoundedYaml.Load(File.ReadAllText(path));
        }
        catch (YamlException ex)
        {
            throw new InvalidDataException($"{path} line {ex.Start.Line}: invalid YAML: {ex.InnerException?.Message ?? ex.Message}", ex);
        }

        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        var ignored = new List<string>();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return (settings, ignored);
        }

        foreach (var (keyNode, value) in root.Children)
        {
            var section = ((YamlScalarNode)keyNode).Value ?? "";
            if (section != "vllm" || value is not YamlMappingNode vllm)
            {
                ignored.Add(section);
                continue;
            }

            foreach (var (argument, argumentValue) in vllm.Children)
            {
                var name = ((YamlScalarNode)argument).Value ?? "";
                if (!s_keys.TryGetValue(name, out var setting))
                {
                    ignored.Add($"vllm.{name}");
                    continue;
                }

                var text = (argumentValue as YamlScalarNode)?.Value;
                if (text == "auto")
                {
                    continue; // the model's own context length, as when unset
                }

                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
                {
                    throw new InvalidDataException($"{path} line {argumentValue.Start.Line}: vllm.{name} is '{text}'; it must be a positive integer");
                }

                settings[setting] = number.ToString(CultureInfo.InvariantCulture);
            }
        }

        return (settings, ignored);
    }

    /// <summary>Says which of the file's keys this server does not use (vLLM-only engine arguments).</summary>
    public static void LogIgnoredKeys(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Configuration["Inference:IgnoredConfigKeys"] is { Length: > 0 } keys)
        {
            LogIgnored(app.Logger, app.Configuration["Inference:KaitoConfigFile"] ?? "", keys);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: ignoring keys this server does not use: {Keys}")]
    private static partial void LogIgnored(ILogger logger, string file, string keys);
}
