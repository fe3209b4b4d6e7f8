namespace Kaito.ModelPuller;

/// <summary>What to pull and where; the paths default to those of the workspace pods' init container.</summary>
public sealed class PullerOptions
{
    public const string SectionName = "Puller";

    /// <summary>The model image (<c>--image</c>): <c>&lt;registry&gt;/kaito-&lt;preset&gt;:&lt;tag&gt;</c> or pinned by digest.</summary>
    public string Image { get; set; } = "";

    public const string ModelLayout = "model";
    public const string ImageDataLayout = "image-data";

    /// <summary>
    /// <c>model</c> (<c>--layout</c>, default): a model image, one file per layer (ORAS); <c>image-data</c>: a container
    /// image whose <c>/data</c> folder is taken (KAITO's adapter and dataset images).
    /// </summary>
    public string Layout { get; set; } = ModelLayout;

    /// <summary>The folder the model's files are restored into (<c>--target</c>), the pod's weights volume.</summary>
    public string Target { get; set; } = "/workspace/weights";

    /// <summary>The node's blob cache (<c>--cache</c>), a hostPath shared by the pods of the node; empty: no cache.</summary>
    public string? Cache { get; set; } = "/var/lib/kaito/model-cache";

    /// <summary>
    /// Docker config files (<c>--docker-config</c>, comma-separated; a folder means every <c>*/config.json</c> and
    /// <c>config.json</c> in it): the pod's image pull secrets, mounted. The first with credentials for the registry wins.
    /// </summary>
    public string? DockerConfig { get; set; }

    /// <summary>A registry (<c>host:port</c>) to reach over plain HTTP (<c>--insecure-registry</c>); loopback registries always are.</summary>
    public string? InsecureRegistry { get; set; }

    /// <summary>
    /// Registries (<c>host[:port]</c>, comma-separated, <c>--acr-registries</c>) that are Azure Container Registries
    /// although their names do not end in <c>.azurecr.io</c>: logged in to with the Azure identity as those are.
    /// </summary>
    public string? AcrRegistries { get; set; }

    /// <summary>A Hugging Face model id (<c>--hf-model owner/name</c>) to download instead of an image.</summary>
    public string? HfModel { get; set; }

    /// <summary>The branch, tag or commit of <see cref="HfModel"/> (<c>--revision</c>); resolved to a commit before any file is fetched.</summary>
    public string Revision { get; set; } = "main";

    /// <summary>The Hub (<c>--hf-endpoint</c>; <c>HF_ENDPOINT</c> as huggingface_hub reads it, for mirrors).</summary>
    public string HfEndpoint { get; set; } = Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } mirror ? mirror : "https://huggingface.co";

    /// <summary>A file holding the Hub token (<c>--hf-token-file</c>); otherwise <c>HF_TOKEN</c> from the environment.</summary>
    public string? HfTokenFile { get; set; }

    /// <summary>Where the one-line cause of a failure is written, for the kubelet's termination message.</summary>
    public string TerminationLog { get; set; } = Kaito.ServiceDefaults.TerminationMessage.DefaultPath;
}
