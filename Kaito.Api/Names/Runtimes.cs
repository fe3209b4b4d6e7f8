namespace Kaito.Api.Names;

/// <summary>Values of the <see cref="Annotations.Runtime"/> annotation.</summary>
public static class Runtimes
{
    /// <summary>vLLM (the default when the vLLM feature gate is on).</summary>
    public const string VLlm = "vllm";

    /// <summary>Hugging Face Transformers.</summary>
    public const string Transformers = "transformers";
}
