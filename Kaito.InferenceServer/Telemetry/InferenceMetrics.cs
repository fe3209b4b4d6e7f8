using System.Diagnostics;
using System.Diagnostics.Metrics;
using Kaito.InferenceServer.Scheduling;

namespace Kaito.InferenceServer.Telemetry;

/// <summary>
/// The server's serving metrics, recorded once and published twice: as OpenTelemetry instruments on the
/// <c>Kaito.InferenceServer</c> meter (the Aspire dashboard, OTLP) and as Prometheus series under vLLM's names
/// (<c>vllm:num_requests_waiting</c>, …) so KAITO's dashboards and KEDA scalers work unchanged against us.
/// </summary>
public sealed class InferenceMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
    private static readonly double[] TokenBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

    private readonly PrometheusRegistry.Gauge _running;
    private readonly PrometheusRegistry.Gauge _waiting;
    private readonly PrometheusRegistry.Counter _promptTokens;
    private readonly PrometheusRegistry.Counter _generationTokens;
    private readonly PrometheusRegistry.Counter _success;
    private readonly PrometheusRegistry.Counter _rejected;
    private readonly PrometheusRegistry.Counter _rebatched;
    private readonly PrometheusRegistry.Histogram _timeToFirstToken;
    private readonly PrometheusRegistry.Histogram _timePerOutputToken;
    private readonly PrometheusRegistry.Histogram _endToEnd;
    private readonly PrometheusRegistry.Gauge _kvCacheUsage;
    private readonly PrometheusRegistry.Gauge _gpuCacheUsage;
    private readonly PrometheusRegistry.Gauge _cacheConfig;
    private long _kvTokens;
    private long _kvCapacity;
    private string _baseModel = "";

    private readonly UpDownCounter<long> _runningInstrument;
    private readonly UpDownCounter<long> _waitingInstrument;
    private readonly Counter<long> _tokensInstrument;
    private readonly Counter<long> _requestsInstrument;
    private readonly Histogram<double> _timeToFirstTokenInstrument;
    private readonly Histogram<double> _timePerOutputTokenInstrument;
    private readonly Histogram<double> _endToEndInstrument;

    public InferenceMetrics(InferenceTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        Registry = new PrometheusRegistry();
        _running = Registry.CreateGauge("vllm:num_requests_running", "Number of requests currently generating.", "model_name");
        _waiting = Registry.CreateGauge("vllm:num_requests_waiting", "Number of requests waiting to be scheduled.", "model_name");
        _promptTokens = Registry.CreateCounter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", "model_name");
        _generationTokens = Registry.CreateCounter("vllm:generation_tokens_total", "Number of generation tokens processed.", "model_name");
        _success = Registry.CreateCounter("vllm:request_success_total", "Count of finished requests by finish reason.", "model_name", "finished_reason");
        _rejected = Registry.CreateCounter("kaito_ratelimit_rejected_total", "Requests refused with 429 because the queue was full.", "model_name");
        _rebatched = Registry.CreateCounter("kaito_batch_restarts_total", "Running batches restarted so waiting requests could join.", "model_name");
        _timeToFirstToken = Registry.CreateHistogram("vllm:time_to_first_token_seconds", "Time to first token in seconds.", LatencyBuckets, "model_name");
        _timePerOutputToken = Registry.CreateHistogram("vllm:time_per_output_token_seconds", "Time per output token in seconds.", TokenBuckets, "model_name");
        _endToEnd = Registry.CreateHistogram("vllm:e2e_request_latency_seconds", "End-to-end request latency in seconds.", LatencyBuckets, "model_name");
        // vLLM's KV-cache gauges (kv_cache_usage_perc, and gpu_cache_usage_perc that KAITO's dashboards read): the
        // tokens the running sequences hold in the KV cache over what the server allows (batch size × context),
        // 0 to 1, as vLLM reports the fraction of its KV blocks in use.
        _kvCacheUsage = Registry.CreateGauge("vllm:kv_cache_usage_perc", "KV-cache usage: 1 means full.", "model_name");
        _gpuCacheUsage = Registry.CreateGauge("vllm:gpu_cache_usage_perc", "KV-cache usage (vLLM's earlier name; the cache is in host memory on CPU): 1 means full.", "model_name");
        _cacheConfig = Registry.CreateGauge("vllm:cache_config_info", "Information of the KV cache's configuration.",
            "block_size", "cache_dtype", "enable_prefix_caching", "num_cpu_blocks", "num_gpu_blocks");

        var meter = telemetry.Meter;
        _runningInstrument = meter.CreateUpDownCounter<long>("kaito.inference.requests.running", "{request}", "Requests currently generating.");
        _waitingInstrument = meter.CreateUpDownCounter<long>("kaito.inference.requests.waiting", "{request}", "Requests waiting to be scheduled.");
        _tokensInstrument = meter.CreateCounter<long>("gen_ai.client.token.usage", "{token}", "Prompt and generated tokens.");
        _requestsInstrument = meter.CreateCounter<long>("kaito.inference.requests", "{request}", "Finished or refused requests.");
        _timeToFirstTokenInstrument = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time to first token.");
        _timePerOutputTokenInstrument = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per output token after the first.");
        _endToEndInstrument = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "End-to-end request latency.");
    }

    public PrometheusRegistry Registry { get; }

    public double RunningRequests(string model) => _running.Value(model);

    public double WaitingRequests(string model) => _waiting.Value(model);

    public void Waiting(string model, int delta)
    {
        _waiting.Add(delta, model);
        _waitingInstrument.Add(delta, new KeyValuePair<string, object?>("gen_ai.request.model", model));
    }

    public void Running(string model, int delta)
    {
        _running.Add(delta, model);
        _runningInstrument.Add(delta, new KeyValuePair<string, object?>("gen_ai.request.model", model));
    }

    public void Rejected(string model)
    {
        _rejected.Add(1, model);
        _requestsInstrument.Add(1, new("gen_ai.request.model", model), new("outcome", "rejected"));
    }

    public void Rebatched(string model) => _rebatched.Add(1, model);

    /// <summary>
    /// The KV cache's shape once the base model is loaded: token-sized blocks (no paging), as many as the batch and
    /// context allow, in host memory.
    /// </summary>
    public void CacheConfigured(string model, int maxBatch, int contextLength)
    {
        _baseModel = model;
        Interlocked.Exchange(ref _kvCapacity, (long)maxBatch * contextLength);
        _cacheConfig.Set(1, "1", "auto", "False", "0", Interlocked.Read(ref _kvCapacity).ToString(System.Globalization.CultureInfo.InvariantCulture));
        KvTokens(0);
    }

    /// <summary>
    /// Tokens entering (positive) or leaving (negative) the KV cache of running sequences, adapters' included: one
    /// cache, reported under the base model's name.
    /// </summary>
    public void KvTokens(long delta)
    {
        var model = _baseModel;
        var held = Interlocked.Add(ref _kvTokens, delta);
        var capacity = Interlocked.Read(ref _kvCapacity);
        var usage = capacity > 0 ? Math.Clamp((double)held / capacity, 0, 1) : 0;
        _kvCacheUsage.Set(usage, model);
        _gpuCacheUsage.Set(usage, model);
    }

    public double KvCacheUsage() => _kvCacheUsage.Value(_baseModel);

    public void FirstToken(GenerationRequest request, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        _timeToFirstToken.Observe(elapsed.TotalSeconds, request.Model.Name);
        _timeToFirstTokenInstrument.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("gen_ai.request.model", request.Model.Name));
    }

    public void Finished(GenerationRequest request, string reason, int generated, TimeSpan? timePerOutputToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = request.Model.Name;
        var tag = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        _success.Add(1, model, reason);
        _requestsInstrument.Add(1, tag, new("outcome", reason));
        if (generated > 0)
        {
            _promptTokens.Add(request.PromptTokens, model);
            _generationTokens.Add(generated, model);
            _tokensInstrument.Add(request.PromptTokens, tag, new("gen_ai.token.type", "input"));
            _tokensInstrument.Add(generated, tag, new("gen_ai.token.type", "output"));
        }

        if (timePerOutputToken is { } perToken)
        {
            _timePerOutputToken.Observe(perToken.TotalSeconds, model);
            _timePerOutputTokenInstrument.Record(perToken.TotalSeconds, tag);
        }

        var total = Stopwatch.GetElapsedTime(request.EnqueuedAt).TotalSeconds;
        _endToEnd.Observe(total, model);
        _endToEndInstrument.Record(total, tag);
    }
}
