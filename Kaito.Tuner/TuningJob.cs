using Kaito.Api.Networking;
using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.Json;
using Kaito.Models.Tokenizers;
using Kaito.Tuner.Configuration;
using Kaito.Tuner.Data;
using Kaito.Oci;
using Kaito.Tuner.Publishing;
using Kaito.Tuner.Training;
using Microsoft.Extensions.Options;

namespace Kaito.Tuner;

/// <summary>
/// One run of the tuning job, under a span named <c>tuner.run</c>: check inputs, read the config, load the base
/// model and the data, train LoRA, write the PEFT adapter, a summary and KAITO's completion sentinel.
/// </summary>
public sealed partial class TuningJob(IOptions<TunerOptions> options, TunerTelemetry telemetry, ILogger<TuningJob> logger)
{
    /// <summary>KAITO's LoRA targets for phi-3 presets (the DEFAULT_TARGET_MODULES its tuning Job sets).</summary>
    public static readonly IReadOnlyList<string> KaitoPhi3TargetModules = ["k_proj", "q_proj", "v_proj", "o_proj", "gate_proj", "down_proj", "up_proj"];

    public const string SummaryFile = "training_summary.json";
    public const string CompletedSentinel = "fine_tuning_completed.txt";
    private const int ProbeTokens = 16;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options.Value;
        using var activity = telemetry.ActivitySource.StartActivity("tuner.run");
        activity?.SetTag("tuner.config", settings.Config);
        activity?.SetTag("tuner.output", settings.Output);
        LogStarting(logger, settings.Config, settings.Data, settings.Model, settings.Output);

        var problems = TuningInputs.FindProblems(settings);
        if (problems.Count > 0)
        {
            throw new TuningFailedException(ExitCodes.InvalidInput, string.Join("; ", problems));
        }

        var config = Invalid(() => TuningConfig.Parse(File.ReadAllText(settings.Config), Path.GetFileName(settings.Config)));
        foreach (var warning in config.Warnings)
        {
            LogWarning(logger, warning);
        }

        var image = string.IsNullOrEmpty(settings.OutputImage) ? null : Invalid(() => PushTarget(settings.OutputImage));

        var native = LibTorchLoader.Prepare();
        LogNative(logger, native);
        TorchSharp.torch.Device device;
        try
        {
            device = TrainingDevice.Select(settings.Device);
        }
        catch (NotSupportedException e)
        {
            throw new TuningFailedException(ExitCodes.Unsupported, e.Message);
        }

        var deviceName = device.ToString();
        LogDevice(logger, deviceName);
        activity?.SetTag("tuner.device", deviceName);
        TorchSharp.torch.manual_seed(config.Seed);

        var weights = Invalid(() => DecoderWeights.Load(settings.Model));
        var tokenizer = Invalid(() => BpeTokenizer.Load(settings.Model));
        var format = Invalid(() => new ChatFormat(tokenizer, TokenizerConfig.Load(settings.Model).ChatTemplate));
        await DownloadDataAsync(cancellationToken);

        var warnings = new List<string>();
        var file = Invalid(() => DatasetFiles.Find(settings.Data, config.DatasetPath, config.DatasetExtension));
        var rows = await InvalidAsync(() => DatasetFiles.ReadAsync(file, config.DatasetExtension, warnings, cancellationToken));
        var examples = Invalid(() => TrainingExamples.Build(rows, config, format, warnings));
        foreach (var warning in warnings)
        {
            LogWarning(logger, warning);
        }

        examples = Split(examples, config);
        LogData(logger, file, rows.Count, examples.Count, format.FamilyName);

        var padId = tokenizer.IdOf(TokenizerConfig.Load(settings.Model).PadToken ?? "") ?? weights.Config.EosTokenIds.FirstOrDefault();
        // PEFT's default (q_proj and v_proj), except for Phi-3, whose q/k/v and gate/up are stored fused: KAITO names
        // k/q/v/o/gate/down/up there (DEFAULT_TARGET_MODULES, KAITO's pkg/workspace/tuning/preset_tuning.go), which PEFT
        // matches to o_proj and down_proj. The same names and modules here, so adapters move between the two.
        IReadOnlyList<string> targets = config.TargetModules ?? (weights.FusedProjections ? KaitoPhi3TargetModules : ["q_proj", "v_proj"]);
        if (LoraDecoder.Unmatched(targets, weights.FusedProjections) is { Count: > 0 } unmatched && unmatched.Count < targets.Count)
        {
            LogWarning(logger, $"LoraConfig.target_modules: {string.Join(", ", unmatched)} match no module of this model " +
                $"{(weights.FusedProjections ? "(it stores q/k/v as qkv_proj and gate/up as gate_up_proj) " : "")}and are ignored, as PEFT ignores them");
        }

        using var model = Invalid(() => new LoraDecoder(weights, config.Rank, config.Alpha, config.Dropout, [.. targets], config.Seed,
            quantize: config.LoadIn4Bit, doubleQuant: config.DoubleQuant, device: device));
        LogModel(logger, !model.Quantized ? "F32" : config.DoubleQuant ? "NF4 with 8-bit scales (QLoRA, double quantisation)" : "NF4 (QLoRA)",
            model.BaseProjectionBytes);
        var probe = ProbePrompt(examples[0]);
        var before = model.Greedy(probe, ProbeTokens);

        Directory.CreateDirectory(settings.Output);
        var trainer = new LoraTrainer(config, model, padId, logger, telemetry);
        trainer.Train(examples, settings.Output, cancellationToken);
        var after = model.Greedy(probe, ProbeTokens);

        model.ToAdapter(Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.Output)), targets, settings.Model).Save(settings.Output);
        WriteSummary(settings.Output, config, model, trainer, probe, before, after);
        foreach (var checkpoint in Directory.GetDirectories(settings.Output, "checkpoint-*"))
        {
            Directory.Delete(checkpoint, recursive: true);
        }

        if (image is not null)
        {
            await PushAsync(settings, image, cancellationToken);
        }

        Kaito.Models.DurableFile.WriteAllText(Path.Combine(settings.Output, CompletedSentinel), "Fine-Tuning completed\n");
        activity?.SetTag("tuner.steps", trainer.TotalSteps);
        activity?.SetTag("tuner.final_loss", trainer.Losses[^1]);
        LogDone(logger, trainer.TotalSteps, trainer.Losses[0], trainer.Losses[^1], settings.Output);
    }

    /// <summary>Downloads <see cref="TunerOptions.DataUrls"/> into the data folder (nothing when there are none).</summary>
    public async Task DownloadDataAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.DataUrls))
        {
            return;
        }

        var policy = Invalid(() => OutboundPolicy.FromOptions(settings.AllowedDataHosts, settings.Resolve));
        using var http = new HttpClient(policy.CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan };
        var urls = settings.DataUrls.Split([',', ' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var limits = new DownloadLimits(settings.MaxDownloadBytes, settings.DownloadTimeout, TimeSpan.FromSeconds(2));
        await InvalidAsync(() => new DatasetDownloader(http, policy, logger, limits).DownloadAsync(urls, settings.Data, cancellationToken));
    }

    private async Task PushAsync(TunerOptions settings, ImageReference image, CancellationToken cancellationToken)
    {
        using var activity = telemetry.ActivitySource.StartActivity("tuner.push");
        activity?.SetTag("oci.reference", image.ToString());
        // The adapter is known by its image's name (…/phi-3-adapter:0.0.1 → phi-3-adapter), as a Workspace's adapters list names it.
        var adapter = AdapterImage.Build(settings.Output, image.Repository[(image.Repository.LastIndexOf('/') + 1)..]);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            var credentials = settings.DockerConfig is null ? null : DockerConfig.CredentialsFor(settings.DockerConfig, image.Registry);
            var insecure = string.Equals(settings.InsecureRegistry, image.Registry, StringComparison.OrdinalIgnoreCase);
            var registry = new RegistryClient(http, image, credentials, insecure, RegistryAccess.Push, logger);
            var digest = await registry.PushImageAsync(adapter.Blobs, adapter.Manifest, image.Tag, progress: null, cancellationToken);
            LogPushed(logger, image, digest);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new TuningFailedException(ExitCodes.Failed, $"pushing the adapter to {image} failed: {e.Message}");
        }
    }

    /// <summary>KAITO's train_test_split keeps that fraction of the (shuffled) rows for training.</summary>
    private static List<TrainingExample> Split(List<TrainingExample> examples, TuningConfig config)
    {
        if (config.TrainTestSplit >= 1)
        {
            return examples;
        }

        var order = Enumerable.Range(0, examples.Count).ToArray();
        new Random(config.ShuffleSeed).Shuffle(order);
        return [.. order.Take(Math.Max(1, (int)(examples.Count * config.TrainTestSplit))).Select(i => examples[i])];
    }

    /// <summary>The first example up to its first trained token: a prompt the adapter should answer.</summary>
    private static int[] ProbePrompt(TrainingExample example)
    {
        var firstTrained = Array.FindIndex(example.Labels, l => l >= 0);
        return example.Ids[..Math.Max(1, firstTrained)];
    }

    private static void WriteSummary(string output, TuningConfig config, LoraDecoder model, LoraTrainer trainer, int[] probe, List<int> before, List<int> after)
    {
        static JsonArray Ints(IEnumerable<int> values) => new([.. values.Select(v => (JsonNode)v)]);
        var summary = new JsonObject
        {
            ["method"] = config.LoadIn4Bit ? "qlora" : "lora",
            ["steps"] = trainer.TotalSteps,
            ["base_projection_bytes"] = model.BaseProjectionBytes,
            ["resumed_from_step"] = trainer.StartStep,
            ["first_loss"] = trainer.Losses[0],
            ["final_loss"] = trainer.Losses[^1],
            ["tokens_per_second"] = trainer.AverageTokensPerSecond,
            ["seconds_per_step"] = trainer.SecondsPerStep,
            ["losses"] = new JsonArray([.. trainer.Losses.Select(l => (JsonNode)l)]),
            ["probe"] = new JsonObject
            {
                ["prompt_ids"] = Ints(probe),
                ["greedy_before"] = Ints(before),
                ["greedy_after"] = Ints(after),
            },
        };
        Kaito.Models.DurableFile.WriteAllText(Path.Combine(output, SummaryFile), summary.ToJsonString(ModelJson.Options));
    }

    /// <summary>The output image: a tag to push to, not a digest.</summary>
    private static ImageReference PushTarget(string reference)
    {
        var image = ImageReference.Parse(reference);
        return image.Digest is null ? image : throw new ArgumentException($"output image '{reference}' has a digest; push targets need a tag");
    }

    private static T Invalid<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException)
        {
            throw new TuningFailedException(ExitCodes.InvalidInput, e.Message);
        }
    }

    private static async Task<T> InvalidAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException)
        {
            throw new TuningFailedException(ExitCodes.InvalidInput, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job starting: config {Config}, data {Data}, model {Model}, output {Output}")]
    private static partial void LogStarting(ILogger logger, string config, string data, string model, string output);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pushed the adapter to {Image} ({Digest})")]
    private static partial void LogPushed(ILogger logger, ImageReference image, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Base projections stored as {Storage}: {Bytes} bytes")]
    private static partial void LogModel(ILogger logger, string storage, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "libtorch: {Result}")]
    private static partial void LogNative(ILogger logger, string result);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training on {Device}")]
    private static partial void LogDevice(ILogger logger, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {File}: {Rows} rows, {Examples} training examples, {Template} chat format")]
    private static partial void LogData(ILogger logger, string file, int rows, int examples, string template);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Steps} steps: loss {First:0.0000} → {Final:0.0000}; adapter in {Output}")]
    private static partial void LogDone(ILogger logger, int steps, double first, double final, string output);
}
