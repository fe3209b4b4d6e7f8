namespace Kaito.Models;

/// <summary>The file names of a PEFT adapter folder (where pods keep them is Kaito.Api's WorkloadPaths).</summary>
public static class ModelLayout
{
    /// <summary>PEFT adapter configuration file name.</summary>
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>PEFT adapter weights file name.</summary>
    public const string AdapterWeightsFile = "adapter_model.safetensors";

    /// <summary>
    /// Where a model folder (a model image's files) keeps a converted form of its weights for an execution provider and
    /// precision: <c>onnx/cpu-fp32</c> holds the ONNX GenAI export the CPU server loads without exporting at start.
    /// </summary>
    public static string ConvertedFolder(string provider, string precision) => $"onnx/{provider}-{precision}";
}
