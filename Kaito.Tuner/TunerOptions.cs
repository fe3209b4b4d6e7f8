namespace Kaito.Tuner;

/// <summary>The tuning job's inputs and outputs; every path defaults to the one KAITO's tuning pod mounts.</summary>
public sealed class TunerOptions
{
    public const string SectionName = "Tuner";

    /// <summary>KAITO's training configuration (<c>--config</c>), mounted from the workspace's ConfigMap.</summary>
    public string Config { get; set; } = "/mnt/config/training_config.yaml";

    /// <summary>The dataset folder (<c>--data</c>), filled by the data-downloader init container or a volume.</summary>
    public string Data { get; set; } = "/mnt/data";

    /// <summary>
    /// Dataset URLs (<c>--data-urls</c>, separated by spaces or commas — escape a comma inside a URL as <c>%2C</c>: the
    /// Workspace's <c>tuning.input.urls</c>) downloaded into
    /// <see cref="Data"/> before training.
    /// </summary>
    public string? DataUrls { get; set; }

    /// <summary>
    /// <c>host:port</c> origins (comma-separated, <c>--allowed-data-hosts</c>) that dataset downloads may reach although
    /// they are not public addresses, e.g. a dataset server on a developer's machine. Nothing else internal is reachable.
    /// </summary>
    public string? AllowedDataHosts { get; set; }

    /// <summary>Static name resolution for downloads (<c>--resolve name=address,...</c>, as curl's): air-gapped mirrors.</summary>
    public string? Resolve { get; set; }

    /// <summary>The largest dataset file accepted (<c>--max-download-bytes</c>, 20 GiB).</summary>
    public long MaxDownloadBytes { get; set; } = 20L * 1024 * 1024 * 1024;

    /// <summary>How long one try of one dataset download may take (<c>--download-timeout</c>, 2 hours).</summary>
    public TimeSpan DownloadTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>The base model weights in HF layout (<c>--model</c>).</summary>
    public string Model { get; set; } = Kaito.Api.Names.WorkloadPaths.Weights;

    /// <summary>Where the adapter, checkpoints and the completion sentinel go (<c>--output</c>).</summary>
    public string Output { get; set; } = "/mnt/results";

    /// <summary>The OCI image to push the adapter to (<c>--output-image</c>); nothing is pushed when empty.</summary>
    public string? OutputImage { get; set; }

    /// <summary>A docker config JSON with push credentials (<c>--docker-config</c>), the mounted imagePushSecret.</summary>
    public string? DockerConfig { get; set; }

    /// <summary>A registry (<c>host:port</c>) to reach over plain HTTP (<c>--insecure-registry</c>).</summary>
    public string? InsecureRegistry { get; set; }

    /// <summary>
    /// Where training runs (<c>--device</c>): <c>auto</c> (CUDA when the CUDA libtorch is loaded and a GPU is visible,
    /// else CPU), <c>cpu</c> or <c>cuda</c> (an error when no GPU can be used).
    /// </summary>
    public string Device { get; set; } = "auto";

    /// <summary>Where the one-line failure cause is written for Kubernetes to surface, when that file exists.</summary>
    public string TerminationLog { get; set; } = Kaito.ServiceDefaults.TerminationMessage.DefaultPath;
}
