using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Kaito.InferenceServer.Engine;
using Kaito.Models;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Onnx;
using Kaito.Models.Tiny;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Serving;

/// <summary>
/// Loads the served models in the background once the server listens (so <c>/health</c> answers 503 while loading):
/// the base model — an ONNX GenAI folder, or a Hugging Face folder exported to one — and every PEFT adapter under
/// the adapters folder, merged into the base weights and exported as its own model. A base model that cannot load
/// stops the process with a non-zero exit code (the pod restarts and the controller sees why); a bad adapter is
/// logged and skipped so the base keeps serving.
/// </summary>
public sealed partial class ModelRegistry(
    IOptions<InferenceServerOptions> options,
    GenAiRuntime runtime,
    IHostApplicationLifetime lifetime,
    Telemetry.InferenceMetrics metrics,
    ILogger<ModelRegistry> logger) : BackgroundService, IHealthCheck
{
    private readonly InferenceServerOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, ILanguageModel> _models = new(StringComparer.Ordinal);
    private volatile ILanguageModel? _base;
    private volatile ILanguageModel? _default;
    private volatile string _state = "loading";

    public const string HealthCheckName = "model";

    /// <summary>The base model, or null while loading.</summary>
    public ILanguageModel? Base => _base;

    /// <summary>Every served model: the base first, then adapters by name.</summary>
    public IReadOnlyList<ILanguageModel> Models =>
        _base is null ? [] : [_base, .. _models.Values.Where(m => m != _base).OrderBy(m => m.Name, StringComparer.Ordinal)];

    /// <summary>
    /// What a request naming no model gets (the legacy <c>/chat</c> always): <see cref="InferenceServerOptions.DefaultModel"/>
    /// (a finished tuning workspace's adapter), else the base model; null while loading.
    /// </summary>
    public ILanguageModel? Default => _default;

    public bool TryGet(string name, out ILanguageModel model) => _models.TryGetValue(name, out model!);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_base is null
            ? HealthCheckResult.Unhealthy($"Model is {_state}.")
            : HealthCheckResult.Healthy($"Serving {string.Join(", ", Models.Select(m => m.Name))}."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var (onnx, weights) = string.IsNullOrWhiteSpace(_options.TinyModel) ? ResolveBase(stoppingToken) : ResolveTiny(_options.TinyModel);
            var name = !string.IsNullOrWhiteSpace(_options.ServedModelName) ? _options.ServedModelName
                : !string.IsNullOrWhiteSpace(_options.TinyModel) ? TinyModel.ServedName
                : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.Model)));
            var model = runtime.Load(onnx, name, _options.ExecutionProvider, _options.ContextLength, _options.EffectiveIntraOpThreads);
            _models[name] = model;
            LoadAdapters(weights, stoppingToken);
            var defaultModel = model;
            if (!string.IsNullOrWhiteSpace(_options.DefaultModel) && !_models.TryGetValue(_options.DefaultModel, out defaultModel))
            {
                // Serving the base under the tuned model's name would answer wrongly without saying so.
                throw new InvalidDataException($"the default model '{_options.DefaultModel}' is not served: no adapter of that name loaded from {_options.AdaptersDirectory}");
            }

            _default = defaultModel;
            metrics.CacheConfigured(name, _options.MaxBatchSize, model.ContextLength);
            _base = model;
            _state = "loaded";
            LogLoaded(logger, name, model.ContextLength, _models.Count - 1);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException
            or Microsoft.ML.OnnxRuntimeGenAI.OnnxRuntimeGenAIException or ArgumentException)
        {
            _state = "failed";
            LogLoadFailed(logger, e, _options.Model, e.Message);
            Environment.ExitCode = 1;
            // Stopping before the host finished starting would abort its start-up with an unhandled exception.
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
        }
    }

    public override void Dispose()
    {
        foreach (var model in _models.Values)
        {
            model.Dispose();
        }

        _models.Clear();
        base.Dispose();
    }

    private (string Onnx, string? Weights) ResolveTiny(string directory)
    {
        var onnx = Path.Combine(directory, TinyModel.OnnxFolder);
        var hf = Path.Combine(directory, TinyModel.HuggingFaceFolder);
        if (!File.Exists(Path.Combine(onnx, GenAiConfig.FileName)))
        {
            LogGeneratingTinyModel(logger, directory);
            TinyModel.Generate(directory);
        }

        return (onnx, string.IsNullOrWhiteSpace(_options.BaseWeights) ? hf : _options.BaseWeights);
    }

    private (string Onnx, string? Weights) ResolveBase(CancellationToken cancellationToken)
    {
        var model = _options.Model;
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new ArgumentException("No model given: pass --model <folder> (an ONNX GenAI folder or a Hugging Face folder).");
        }

        if (!Directory.Exists(model))
        {
            throw new DirectoryNotFoundException($"Model folder {model} does not exist.");
        }

        var weights = string.IsNullOrWhiteSpace(_options.BaseWeights) ? null : _options.BaseWeights;
        if (File.Exists(Path.Combine(model, GenAiConfig.FileName)))
        {
            return (model, weights);
        }

        // A model image may carry the export already (kubectl kaito model push --precision): no export at start.
        var converted = Path.Combine(model, ModelLayout.ConvertedFolder("cpu", "fp32"));
        if (File.Exists(Path.Combine(model, DecoderConfig.FileName)) && File.Exists(Path.Combine(converted, GenAiConfig.FileName)))
        {
            LogConverted(logger, converted);
            return (converted, weights ?? model);
        }

        if (File.Exists(Path.Combine(model, DecoderConfig.FileName)))
        {
            var target = Path.Combine(CacheDirectory, "models", $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}-{Fingerprint(model)}");
            if (!File.Exists(Path.Combine(target, GenAiConfig.FileName)))
            {
                LogExporting(logger, model, target);
                cancellationToken.ThrowIfCancellationRequested();
                ExportOnce(target, folder => DecoderOnnxExporter.Export(model, folder));
            }
            else
            {
                LogExportReused(logger, target);
            }

            return (target, weights ?? model);
        }

        throw new InvalidDataException(
            $"{model} is neither an ONNX GenAI model folder ({GenAiConfig.FileName}) nor a Hugging Face model folder ({DecoderConfig.FileName}).");
    }

    private void LoadAdapters(string? weights, CancellationToken cancellationToken)
    {
        var root = _options.AdaptersDirectory;
        if (string.IsNullOrWhiteSpace(root) || !Directory.Exists(root))
        {
            return;
        }

        foreach (var directory in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(directory);
            if (!LoraAdapter.IsAdapterDirectory(directory))
            {
                LogNotAnAdapter(logger, directory);
                continue;
            }

            if (weights is null)
            {
                LogAdapterSkipped(logger, name, "the base model's Hugging Face weights are needed to merge it: pass --base-weights <folder>");
                continue;
            }

            try
            {
                var target = Path.Combine(CacheDirectory, "adapters", $"{name}-{Fingerprint(directory)}-{Fingerprint(weights)}");
                if (!File.Exists(Path.Combine(target, GenAiConfig.FileName)))
                {
                    var adapter = LoraAdapter.Load(directory);
                    var config = DecoderConfig.Load(weights);
                    var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(weights), adapter);
                    ExportOnce(target, folder => DecoderOnnxExporter.Export(DecoderWeights.From(config, merged, weights), weights, folder, _options.ContextLength));
                }

                _models[name] = runtime.Load(target, name, _options.ExecutionProvider, _options.ContextLength, _options.EffectiveIntraOpThreads);
                LogAdapterAdded(logger, name);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever one adapter's files hold, the base and the other adapters keep serving.
                LogAdapterSkipped(logger, name, e.Message);
            }
        }
    }

    private string CacheDirectory => _cacheDirectory ??= UsableCacheDirectory();

    private string? _cacheDirectory;

    /// <summary>
    /// The cache folder: <c>--cache-dir</c> (a node's shared cache, where servers of the same model find each other's
    /// export), or the temporary folder when none is given or this user cannot write it.
    /// </summary>
    private string UsableCacheDirectory()
    {
        var fallback = Path.Combine(Path.GetTempPath(), "kaito-inference");
        if (string.IsNullOrWhiteSpace(_options.CacheDirectory))
        {
            return fallback;
        }

        try
        {
            Directory.CreateDirectory(_options.CacheDirectory);
            var probe = Path.Combine(_options.CacheDirectory, $".probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return _options.CacheDirectory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCacheUnusable(logger, _options.CacheDirectory, e.Message, fallback);
            return fallback;
        }
    }

    /// <summary>
    /// Writes an export into a private folder and renames it into place, so servers sharing the cache never read a
    /// half-written export; when another finished first, its export is kept and this one dropped.
    /// </summary>
    private static void ExportOnce(string target, Action<string> export)
    {
        var partial = $"{target}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            export(partial);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!Directory.Exists(target))
            {
                Directory.Move(partial, target);
            }
        }
        catch (IOException) when (File.Exists(Path.Combine(target, GenAiConfig.FileName)))
        {
            // another server renamed its export into place first
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }
        }
    }

    /// <summary>
    /// Names, sizes and modification times of a folder's files: cheap, and changes when they do. Hidden files (a
    /// puller's marker) are bookkeeping, not weights: pods whose weights are the node cache's same files agree.
    /// </summary>
    private static string Fingerprint(string directory)
    {
        var builder = new StringBuilder();
        foreach (var file in Directory.GetFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            builder.Append(info.Name).Append(':').Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks).Append(';');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())))[..12];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} loaded (context {ContextLength} tokens, {Adapters} adapters)")]
    private static partial void LogLoaded(ILogger logger, string name, int contextLength, int adapters);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Model {Model} could not be loaded: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the ONNX export the model image carries in {Folder}")]
    private static partial void LogConverted(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reusing the ONNX export in {Target}")]
    private static partial void LogExportReused(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cache folder {Cache} cannot be used ({Reason}); exporting into {Fallback}")]
    private static partial void LogCacheUnusable(ILogger logger, string cache, string reason, string fallback);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exporting Hugging Face model {Model} to ONNX in {Target}")]
    private static partial void LogExporting(ILogger logger, string model, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generating the tiny model in {Directory}")]
    private static partial void LogGeneratingTinyModel(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter added: {Name}")]
    private static partial void LogAdapterAdded(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Adapter {Name} is not served: {Reason}")]
    private static partial void LogAdapterSkipped(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Directory} has no adapter_config.json and adapter_model.safetensors; ignored")]
    private static partial void LogNotAnAdapter(ILogger logger, string directory);
}
