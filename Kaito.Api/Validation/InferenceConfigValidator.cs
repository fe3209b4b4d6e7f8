using System.Globalization;
using Kaito.Api.Catalog;
using Kaito.Api.Workspaces;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Validation;

/// <summary>Checks an <c>inference_config.yaml</c>: valid YAML, and a <c>vllm.max-model-len</c> the model can hold.</summary>
public static class InferenceConfigValidator
{
    /// <summary>Returns the problems of <paramref name="yaml"/> for <paramref name="model"/> (when known).</summary>
    public static IReadOnlyList<string> Validate(string yaml, ModelPreset? model)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (!TryParse(yaml, out var root, out var problem))
        {
            return [problem!];
        }

        var problems = new List<string>();
        if (root is not null && ReadMaxModelLength(root, problems) is { } length && model is not null && length > model.ContextLength)
        {
            problems.Add($"inference_config.yaml: vllm.max-model-len {length} exceeds the context length of {model.Name} ({model.ContextLength})");
        }

        return problems;
    }

    /// <summary>The explicit <c>vllm.max-model-len</c> of the workspace's inference config, when it is readable.</summary>
    public static int? MaxModelLength(Workspace workspace, ValidationContext context)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(context);
        if (workspace.Inference?.Config is not { } name || context.ConfigMaps?.Invoke(name) is not { } data ||
            !data.TryGetValue("inference_config.yaml", out var yaml) || !TryParse(yaml, out var root, out _) || root is null)
        {
            return null;
        }

        return ReadMaxModelLength(root, []);
    }

    private static bool TryParse(string yaml, out YamlMappingNode? root, out string? problem)
    {
        root = null;
        problem = null;
        YamlStream stream;
        try
        {
            stream = Serialization.BoundedYaml.Load(yaml);
        }
        catch (YamlException ex)
        {
            problem = $"inference_config.yaml line {ex.Start.Line}: invalid YAML: {ex.InnerException?.Message ?? ex.Message}";
            return false;
        }

        if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is not YamlMappingNode && stream.Documents[0].RootNode is not YamlScalarNode { Value: null or "" })
        {
            problem = "inference_config.yaml: the top level must be a map";
            return false;
        }

        root = stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
        return true;
    }

    private static int? ReadMaxModelLength(YamlMappingNode root, List<string> problems)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("vllm"), out var vllm) || vllm is not YamlMappingNode arguments ||
            !arguments.Children.TryGetValue(new YamlScalarNode("max-model-len"), out var node))
        {
            return null;
        }

        if (node is YamlScalarNode { Value: "auto" })
        {
            return null;
        }

        if (node is YamlScalarNode { Value: { } text } && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var length) && length > 0)
        {
            return length;
        }

        problems.Add($"inference_config.yaml line {node.Start.Line}: vllm.max-model-len must be a positive integer or auto");
        return null;
    }
}
