namespace Kaito.Models;

/// <summary>Where KAITO's pods keep model files; the inference server and the tuner agree on these paths.</summary>
public static class ModelLayout
{
    /// <summary>Base model weights (HF layout) inside inference and tuning pods.</summary>
    public const string WeightsPath = "/workspace/weights";

    /// <summary>Each LoRA adapter is a sub-folder named after the adapter.</summary>
    public const string AdaptersPath = "/mnt/adapter";

    /// <summary>PEFT adapter configuration file name.</summary>
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>PEFT adapter weights file name.</summary>
    public const string AdapterWeightsFile = "adapter_model.safetensors";
}
