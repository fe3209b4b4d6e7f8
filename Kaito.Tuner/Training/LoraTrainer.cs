using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Json;
using Kaito.Models.Lora;
using Kaito.Models.Safetensors;
using Kaito.Tuner.Configuration;
using Kaito.Tuner.Data;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Kaito.Tuner.Training;

/// <summary>
/// The training loop: deterministic shuffled micro-batches, gradient accumulation, AdamW with decoupled weight decay,
/// linear/cosine/constant schedules with warmup, gradient-norm clipping, epochs or max_steps. Every
/// <c>save_steps</c> a checkpoint (LoRA matrices, AdamW moments, step) goes to <c>checkpoint-N</c> in the output
/// folder; a run that finds one resumes from the latest and ends at the same step count.
/// </summary>
public sealed partial class LoraTrainer(TuningConfig config, LoraDecoder model, int padId, ILogger logger, TunerTelemetry telemetry)
{
    private const string TrainerStateFile = "trainer_state.json";
    private const string OptimizerFile = "optimizer.safetensors";
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;

    private readonly Dictionary<Tensor, (Tensor M, Tensor V)> _moments = [];

    public List<double> Losses { get; } = [];

    public int TotalSteps { get; private set; }

    public int StartStep { get; private set; }

    public double TokensPerSecond { get; private set; }

    /// <summary>Mean wall time per optimizer step of this run (resumed steps excluded).</summary>
    public double SecondsPerStep { get; private set; }

    /// <summary>Training tokens per second over the whole run.</summary>
    public double AverageTokensPerSecond { get; private set; }

    public void Train(IReadOnlyList<TrainingExample> examples, string outputDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var microBatchesPerEpoch = (examples.Count + config.BatchSize - 1) / config.BatchSize;
        var stepsPerEpoch = Math.Max(1, microBatchesPerEpoch / config.GradientAccumulationSteps);
        TotalSteps = config.MaxSteps > 0 ? config.MaxSteps : Math.Max(1, (int)Math.Ceiling(config.Epochs * stepsPerEpoch));
        var warmup = config.WarmupSteps > 0 ? config.WarmupSteps : (int)Math.Ceiling(config.WarmupRatio * TotalSteps);
        foreach (var parameter in model.Parameters)
        {
            _moments[parameter] = (zeros_like(parameter), zeros_like(parameter));
        }

        StartStep = Resume(outputDirectory);
        LogPlan(logger, examples.Count, TotalSteps, config.BatchSize, config.GradientAccumulationSteps, model.TrainableParameterCount, StartStep);

        var clock = Stopwatch.StartNew();
        var totalTokens = 0L;
        var intervalTokens = 0L;
        var intervalLoss = 0.0;
        var intervalSteps = 0;
        var intervalClock = Stopwatch.StartNew();
        for (var step = StartStep; step < TotalSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var learningRate = LearningRate(step, warmup);
            double stepLoss = 0;
            using (var scope = NewDisposeScope())
            {
                for (var micro = 0; micro < config.GradientAccumulationSteps; micro++)
                {
                    var batch = MicroBatch(examples, (step * config.GradientAccumulationSteps) + micro, microBatchesPerEpoch);
                    var (ids, mask, labels, tokens) = Collate(batch);
                    var logits = model.Forward(ids, mask, training: true);
                    var vocabulary = logits.shape[2];
                    var loss = nn.functional.cross_entropy(
                        logits.narrow(1, 0, logits.shape[1] - 1).reshape(-1, vocabulary),
                        labels.narrow(1, 1, labels.shape[1] - 1).reshape(-1),
                        ignore_index: -100);
                    (loss / config.GradientAccumulationSteps).backward();
                    stepLoss += loss.item<float>() / config.GradientAccumulationSteps;
                    intervalTokens += tokens;
                    totalTokens += tokens;
                }

                if (config.MaxGradNorm > 0)
                {
                    ClipGradients(config.MaxGradNorm);
                }

                AdamW(step + 1, learningRate);
            }

            Losses.Add(stepLoss);
            telemetry.StepCompleted(stepLoss, learningRate);
            intervalLoss += stepLoss;
            intervalSteps++;
            var done = step + 1;
            if (done % config.LoggingSteps == 0 || done == TotalSteps || done == StartStep + 1)
            {
                var seconds = intervalClock.Elapsed.TotalSeconds;
                TokensPerSecond = intervalTokens / Math.Max(seconds, 1e-9);
                var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / (done - StartStep) * (TotalSteps - done));
                LogProgress(logger, done, TotalSteps, intervalLoss / intervalSteps, learningRate, TokensPerSecond, eta);
                telemetry.Throughput(TokensPerSecond, seconds / intervalSteps);
                intervalTokens = 0;
                intervalLoss = 0;
                intervalSteps = 0;
                intervalClock.Restart();
            }

            if (done % config.SaveSteps == 0 && done < TotalSteps)
            {
                SaveCheckpoint(outputDirectory, done);
            }
        }

        var trained = Math.Max(1, TotalSteps - StartStep);
        SecondsPerStep = clock.Elapsed.TotalSeconds / trained;
        AverageTokensPerSecond = totalTokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
    }

    private double LearningRate(int step, int warmup)
    {
        if (step < warmup)
        {
            return config.LearningRate * (step + 1) / warmup;
        }

        var progress = (double)(step - warmup) / Math.Max(1, TotalSteps - warmup);
        return config.Scheduler switch
        {
            "cosine" => config.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            "linear" => config.LearningRate * Math.Max(0, 1 - progress),
            _ => config.LearningRate,
        };
    }

    /// <summary>The examples of micro-batch <paramref name="index"/>: epochs reshuffle with (seed, epoch), so a resumed run sees the same order.</summary>
    private List<TrainingExample> MicroBatch(IReadOnlyList<TrainingExample> examples, int index, int perEpoch)
    {
        var epoch = index / perEpoch;
        var order = Enumerable.Range(0, examples.Count).ToArray();
        if (config.Shuffle)
        {
            new Random(config.ShuffleSeed + epoch).Shuffle(order);
        }

        var start = index % perEpoch * config.BatchSize;
        return [.. order.Skip(start).Take(config.BatchSize).Select(i => examples[i])];
    }

    private (Tensor Ids, Tensor Mask, Tensor Labels, long Tokens) Collate(List<TrainingExample> batch)
    {
        var length = batch.Max(e => e.Ids.Length);
        var ids = new long[batch.Count * length];
        var mask = new long[batch.Count * length];
        var labels = new long[batch.Count * length];
        Array.Fill(ids, padId);
        Array.Fill(labels, -100);
        for (var b = 0; b < batch.Count; b++)
        {
            for (var t = 0; t < batch[b].Ids.Length; t++)
            {
                ids[(b * length) + t] = batch[b].Ids[t];
                mask[(b * length) + t] = 1;
                labels[(b * length) + t] = batch[b].Labels[t];
            }
        }

        long[] shape = [batch.Count, length];
        return (tensor(ids, shape, device: model.Device), tensor(mask, shape, device: model.Device),
            tensor(labels, shape, device: model.Device), batch.Sum(e => e.Ids.Length));
    }

    /// <summary>Scales all gradients together so their global L2 norm is at most <paramref name="maxNorm"/>.</summary>
    private void ClipGradients(double maxNorm)
    {
        using var noGrad = no_grad();
        var gradients = model.Parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        var total = Math.Sqrt(gradients.Sum(g => g.pow(2).sum().item<float>()));
        if (total > maxNorm)
        {
            var factor = maxNorm / (total + 1e-6);
            foreach (var gradient in gradients)
            {
                gradient.mul_(factor);
            }
        }
    }

    private void AdamW(int step, double learningRate)
    {
        using var noGrad = no_grad();
        var correction1 = 1 - Math.Pow(Beta1, step);
        var correction2 = 1 - Math.Pow(Beta2, step);
        foreach (var parameter in model.Parameters)
        {
            var gradient = parameter.grad;
            if (gradient is null)
            {
                continue;
            }

            var (m, v) = _moments[parameter];
            m.mul_(Beta1).add_(gradient, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(gradient, gradient, value: 1 - Beta2);
            if (config.WeightDecay > 0)
            {
                parameter.mul_(1 - (learningRate * config.WeightDecay));
            }

            var denominator = (v / correction2).sqrt_().add_(Epsilon);
            parameter.addcdiv_(m, denominator, value: -learningRate / correction1);
            gradient.zero_();
        }
    }

    private void SaveCheckpoint(string outputDirectory, int step)
    {
        var directory = Path.Combine(outputDirectory, $"checkpoint-{step}");
        var temporary = directory + ".partial";
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }

        model.ToAdapter("checkpoint", [.. model.TargetModules], null).Save(temporary);
        var state = new TensorCollection();
        var index = 0;
        foreach (var parameter in model.Parameters)
        {
            var (m, v) = _moments[parameter];
            state.Add($"{index}.m", LoraDecoder.ToSafetensor(m));
            state.Add($"{index}.v", LoraDecoder.ToSafetensor(v));
            index++;
        }

        SafetensorsFile.Write(Path.Combine(temporary, OptimizerFile), state);
        Models.DurableFile.WriteAllText(Path.Combine(temporary, TrainerStateFile),
            new JsonObject { ["global_step"] = step, ["total_steps"] = TotalSteps, ["losses"] = new JsonArray([.. Losses.Select(l => (JsonNode)l)]) }
                .ToJsonString(ModelJson.Options));
        // A checkpoint appears whole or not at all: a kill mid-save leaves only a .partial folder. The previous one is
        // kept, so a checkpoint damaged after it was written (a bad disk, a full volume) still leaves one to resume from.
        if (Directory.Exists(directory))
        {
            // one a run before this one left (damaged, or from a different run): this step's state replaces it
            Directory.Delete(directory, recursive: true);
        }

        Directory.Move(temporary, directory);
        foreach (var old in Checkpoints(outputDirectory).Skip(2))
        {
            Directory.Delete(old.Path, recursive: true);
        }

        LogCheckpoint(logger, step, directory);
    }

    /// <summary>The complete checkpoints under the output folder, newest first.</summary>
    private static List<(string Path, int Step)> Checkpoints(string outputDirectory) =>
        [.. Directory.GetDirectories(outputDirectory, "checkpoint-*")
            .Where(d => !d.EndsWith(".partial", StringComparison.Ordinal))
            .Select(d => (Path: d, Step: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out var s) ? s : -1))
            .Where(c => c.Step > 0)
            .OrderByDescending(c => c.Step)];

    /// <summary>Resumes from the newest checkpoint that loads; a damaged one is reported and the one before it tried.</summary>
    private int Resume(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory))
        {
            return 0;
        }

        foreach (var (path, step) in Checkpoints(outputDirectory))
        {
            try
            {
                var losses = LoadCheckpoint(path);
                Losses.AddRange(losses);
                LogResumed(logger, step, path);
                return step;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException or System.Text.Json.JsonException
                                           or InvalidOperationException or ArgumentException or FormatException)
            {
                LogCheckpointUnusable(logger, path, e.Message);
            }
        }

        return 0;
    }

    private List<double> LoadCheckpoint(string path)
    {
        var trainerState = Models.Json.JsonFields.ParseObject(File.ReadAllBytes(Path.Combine(path, TrainerStateFile)), TrainerStateFile);
        var losses = trainerState["losses"] is JsonArray list
            ? list.Select(l => l is JsonValue v && v.TryGetValue<double>(out var loss) ? loss : throw new InvalidDataException($"{TrainerStateFile}: losses must be numbers")).ToList()
            : throw new InvalidDataException($"{TrainerStateFile}: losses is missing");
        var adapter = LoraAdapter.Load(path);
        var state = SafetensorsFile.Read(Path.Combine(path, OptimizerFile));
        var moments = new List<(Tensor Target, Models.Safetensors.Tensor Value)>();
        var index = 0;
        foreach (var parameter in model.Parameters)
        {
            var (m, v) = _moments[parameter];
            var (savedM, savedV) = (state[$"{index}.m"], state[$"{index}.v"]);
            if (!savedM.Shape.SequenceEqual(m.shape) || !savedV.Shape.SequenceEqual(v.shape))
            {
                throw new InvalidDataException($"{OptimizerFile}: moment {index} has the wrong shape");
            }

            moments.Add((m, savedM));
            moments.Add((v, savedV));
            index++;
        }

        // Everything was read and checked before anything is changed: a damaged checkpoint leaves the model untouched.
        model.Load(adapter);
        using (no_grad())
        {
            foreach (var (target, value) in moments)
            {
                target.copy_(FromSafetensor(value));
            }
        }

        return losses;
    }

    private static Tensor FromSafetensor(Models.Safetensors.Tensor value) => tensor(value.ToFloats(), [.. value.Shape]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training on {Examples} examples: {Steps} steps, batch {Batch} × accumulation {Accumulation}, {Parameters} trainable parameters, starting at step {Start}")]
    private static partial void LogPlan(ILogger logger, int examples, int steps, int batch, int accumulation, long parameters, int start);

    [LoggerMessage(Level = LogLevel.Information, Message = "step {Step}/{Total} loss {Loss:0.0000} lr {LearningRate:0.000e+0} {TokensPerSecond:0} tokens/s ETA {Eta:hh\\:mm\\:ss}")]
    private static partial void LogProgress(ILogger logger, int step, int total, double loss, double learningRate, double tokensPerSecond, TimeSpan eta);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoint at step {Step}: {Directory}")]
    private static partial void LogCheckpoint(ILogger logger, int step, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Directory} cannot be used ({Reason}); trying the one before it")]
    private static partial void LogCheckpointUnusable(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming from step {Step} ({Directory})")]
    private static partial void LogResumed(ILogger logger, int step, string directory);
}
