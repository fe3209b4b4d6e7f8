namespace Kaito.Models;

/// <summary>The file names of a PEFT adapter folder (where pods keep them is Kaito.Api's WorkloadPaths).</summary>
public static class ModelLayout
{
    /// <summary>PEFT adapter configuration file name.</summary>
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>PEFT adapter weights file name.</summary>
    public const string AdapterWeightsFile = "adapter_model.safetensors";
}
