namespace Kaito.Api.Names;

/// <summary>
/// Where Kaito's workload pods keep their files — the contract between the controller that mounts them and the
/// inference server and tuner that read them (KAITO's pod layout, presets/workspace/...).
/// </summary>
public static class WorkloadPaths
{
    /// <summary>Base model weights (Hugging Face layout).</summary>
    public const string Weights = "/workspace/weights";

    /// <summary>LoRA adapters, one sub-folder per adapter named after it.</summary>
    public const string Adapters = "/mnt/adapter";

    /// <summary>Tuning data, downloaded or mounted.</summary>
    public const string TuningData = "/mnt/data";

    /// <summary>The mounted ConfigMap: <c>training_config.yaml</c> for tuning, <c>inference_config.yaml</c> for serving.</summary>
    public const string Config = "/mnt/config";

    /// <summary>Tuning results when <c>TrainingArguments.output_dir</c> does not say.</summary>
    public const string DefaultResults = "/mnt/results";

    /// <summary>Where the tuner reads its push credentials (the mounted imagePushSecret).</summary>
    public const string DockerConfig = "/root/.docker";
}
