namespace Kaito.InferenceServer;

/// <summary>What the server loads and how it schedules; section <c>Inference</c>, switches in <see cref="InferenceServerExtensions"/>.</summary>
public sealed class InferenceServerOptions
{
    public const string SectionName = "Inference";

    /// <summary>An ONNX GenAI model folder (genai_config.json) or a Hugging Face folder (config.json + safetensors), exported on load.</summary>
    public string Model { get; set; } = "";

    /// <summary>
    /// Serve the generated tiny model kept in this folder (generated there first when missing) instead of
    /// <see cref="Model"/>: the local default, nothing to download.
    /// </summary>
    public string? TinyModel { get; set; }

    /// <summary>The model id clients send; defaults to the model folder's name.</summary>
    public string? ServedModelName { get; set; }

    /// <summary>
    /// The model a request that names none gets (and KAITO's <c>/chat</c>, which names none): an adapter's name, e.g.
    /// what a finished tuning workspace serves. Unset: the base model. The server fails to start when it is not served.
    /// </summary>
    public string? DefaultModel { get; set; }

    /// <summary>Hugging Face weights of the base model, needed to merge LoRA adapters (the model itself when it is an HF folder).</summary>
    public string? BaseWeights { get; set; }

    /// <summary>Every PEFT adapter sub-folder here is served under its folder name (KAITO mounts them here).</summary>
    public string AdaptersDirectory { get; set; } = Kaito.Api.Names.WorkloadPaths.Adapters;

    /// <summary>Where exported and adapter-merged ONNX models are kept; defaults to a folder under the temp directory.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary><c>cpu</c> or <c>cuda</c> (needs the GenAI CUDA build).</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>
    /// ONNX Runtime intra-op threads per model session. Unset: on CPU, one per core but one — the server keeps a core
    /// for HTTP, tokenizing and streaming, and the model's threads never wait on a descheduled sibling (on our 2-core
    /// VMs two threads ran the tiny model at 8k or 14k tokens/s by luck, one thread at 14k every time); on CUDA,
    /// ONNX Runtime's default.
    /// </summary>
    public int? IntraOpThreads { get; set; }

    public int? EffectiveIntraOpThreads => IntraOpThreads
        ?? (ExecutionProvider == "cpu" ? Math.Max(1, Environment.ProcessorCount - 1) : null);

    /// <summary>Caps the model's context length (prompt + generated tokens).</summary>
    public int? ContextLength { get; set; }

    /// <summary>Most requests generated together in one batch.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Requests waiting beyond those running; more are refused with 429.</summary>
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>Batches running at once (each on its own generator).</summary>
    public int MaxConcurrentBatches { get; set; } = 1;

    /// <summary>
    /// Fewest steps between restarts of a running batch to let waiting requests join (each restart recomputes the
    /// running sequences in one prefill).
    /// </summary>
    public int RebatchInterval { get; set; } = 16;

    /// <summary>A waiting request that could join a running batch waits at most about this long for it to restart.</summary>
    public TimeSpan RebatchMaxWait { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a batch waits for companions when the server is busy.</summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Streaming sends the first token at once, then the tokens generated meanwhile at most once per interval
    /// (zero: every token as its own event).
    /// </summary>
    public TimeSpan StreamInterval { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Largest request body accepted (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most stop sequences per request (OpenAI allows 4).</summary>
    public int MaxStopSequences { get; set; } = 4;

    /// <summary>Longest stop sequence, in characters: the matcher's work per token grows with it.</summary>
    public int MaxStopSequenceLength { get; set; } = 256;

    /// <summary>
    /// A file of API keys, one per line (<c>--api-keys-file</c>, a mounted Secret); when set, every request must carry one
    /// as <c>Authorization: Bearer</c>, except the probes and metrics unless <see cref="ApiKeyForHealth"/> and
    /// <see cref="ApiKeyForMetrics"/> say otherwise.
    /// </summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>Put <c>/health</c> and <c>/alive</c> behind the API key too (kubelet probes then need it).</summary>
    public bool ApiKeyForHealth { get; set; }

    /// <summary>Put <c>/metrics</c> behind the API key too (Prometheus then sends it).</summary>
    public bool ApiKeyForMetrics { get; set; }

    /// <summary>A PEM certificate to serve HTTPS with (<c>--tls-cert-file</c>, e.g. a mounted <c>kubernetes.io/tls</c> Secret's tls.crt).</summary>
    public string? TlsCertificateFile { get; set; }

    /// <summary>The certificate's PEM private key (<c>--tls-key-file</c>).</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>Browser origins allowed to call the API (<c>--cors-allowed-origins</c>, comma-separated); none by default.</summary>
    public string? CorsAllowedOrigins { get; set; }
}
