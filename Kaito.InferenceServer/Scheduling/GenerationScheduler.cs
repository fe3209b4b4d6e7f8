using System.Diagnostics;
using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Telemetry;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Scheduling;

/// <summary>
/// Runs generation requests in batches on dedicated threads. Requests wait in a bounded FIFO queue; a worker takes
/// the oldest request and every queued request that can share its generator (same model, same sampling settings,
/// unseeded, and fitting the context together), up to <see cref="InferenceServerOptions.MaxBatchSize"/>. When the
/// previous batch had company, the worker waits a short window for more requests before starting — so clients that
/// resubmit together are batched together — while a lone client never waits. Each sequence ends on its own (end of
/// sequence, stop text, max tokens, or its client leaving); the batch ends when its last sequence does.
/// </summary>
public sealed partial class GenerationScheduler : IHostedService, IDisposable
{
    private readonly InferenceServerOptions _options;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger<GenerationScheduler> _logger;
    private readonly object _gate = new();
    private readonly LinkedList<GenerationRequest> _waiting = new();
    private readonly List<Thread> _workers = [];
    private bool _stopping;
    private int _lastBatchSize;

    public GenerationScheduler(IOptions<InferenceServerOptions> options, InferenceMetrics metrics, ILogger<GenerationScheduler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
    }

    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Queues a request; false when the queue is full (the caller answers 429).</summary>
    public bool TryEnqueue(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_stopping || _waiting.Count >= _options.MaxQueuedRequests)
            {
                _metrics.Rejected(request.Model.Name);
                return false;
            }

            request.EnqueuedAt = Stopwatch.GetTimestamp();
            request.QueueNode = _waiting.AddLast(request);
            _metrics.Waiting(request.Model.Name, +1);
            Monitor.PulseAll(_gate);
        }

        // A client that leaves while queued gives its place back at once.
        request.Cancellation.Register(() => Withdraw(request));
        return true;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < Math.Max(1, _options.MaxConcurrentBatches); i++)
        {
            var worker = new Thread(RunWorker) { IsBackground = true, Name = $"generation-{i}" };
            _workers.Add(worker);
            worker.Start();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        List<GenerationRequest> abandoned;
        lock (_gate)
        {
            _stopping = true;
            abandoned = [.. _waiting];
            _waiting.Clear();
            Monitor.PulseAll(_gate);
        }

        foreach (var request in abandoned)
        {
            _metrics.Waiting(request.Model.Name, -1);
            request.Updates.Writer.TryComplete(new OperationCanceledException("The server is shutting down."));
        }

        foreach (var worker in _workers)
        {
            worker.Join(TimeSpan.FromSeconds(10));
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
    }

    private void Withdraw(GenerationRequest request)
    {
        lock (_gate)
        {
            if (request.QueueNode?.List is null)
            {
                return;
            }

            _waiting.Remove(request.QueueNode);
            request.QueueNode = null;
        }

        _metrics.Waiting(request.Model.Name, -1);
        _metrics.Finished(request, FinishReasons.Cancelled, 0, null);
        request.Updates.Writer.TryComplete();
    }

    private void RunWorker()
    {
        while (TakeBatch() is { } batch)
        {
            try
            {
                Run(batch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogBatchFailed(_logger, e, batch.Count, batch[0].Model.Name);
                foreach (var request in batch)
                {
                    request.Updates.Writer.TryComplete(e);
                }
            }
        }
    }

    private List<GenerationRequest>? TakeBatch()
    {
        lock (_gate)
        {
            while (_waiting.Count == 0 && !_stopping)
            {
                Monitor.Wait(_gate);
            }

            if (_stopping)
            {
                return null;
            }

            if (_lastBatchSize > 1)
            {
                var deadline = _waiting.First!.Value.EnqueuedAt + (long)(_options.BatchWindow.TotalSeconds * Stopwatch.Frequency);
                while (!_stopping && _waiting.Count < _options.MaxBatchSize && _waiting.Count > 0)
                {
                    var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    if (remaining <= TimeSpan.Zero)
                    {
                        break;
                    }

                    Monitor.Wait(_gate, remaining);
                }

                if (_waiting.Count == 0 || _stopping)
                {
                    return _stopping ? null : [];
                }
            }

            var first = _waiting.First!.Value;
            var batch = new List<GenerationRequest>();
            int longestPrompt = 0, longestOutput = 0;
            for (var node = _waiting.First; node is not null && batch.Count < _options.MaxBatchSize;)
            {
                var next = node.Next;
                var candidate = node.Value;
                var prompt = Math.Max(longestPrompt, candidate.PromptTokens);
                var output = Math.Max(longestOutput, candidate.MaxTokens);
                var compatible = candidate == first || (
                    ReferenceEquals(candidate.Model, first.Model)
                    && candidate.Sampling == first.Sampling
                    && candidate.MinTokens == first.MinTokens
                    && !(first.Sampling.DoSample && first.Sampling.Seed is not null)
                    && prompt + output <= first.Model.ContextLength);
                if (compatible)
                {
                    _waiting.Remove(node);
                    candidate.QueueNode = null;
                    batch.Add(candidate);
                    longestPrompt = prompt;
                    longestOutput = output;
                }

                node = next;
            }

            _lastBatchSize = batch.Count;
            return batch;
        }
    }

    private void Run(List<GenerationRequest> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var model = batch[0].Model;
        foreach (var request in batch)
        {
            _metrics.Waiting(model.Name, -1);
        }

        var live = batch.Where(r => !r.Cancellation.IsCancellationRequested).ToList();
        foreach (var request in batch.Except(live))
        {
            _metrics.Finished(request, FinishReasons.Cancelled, 0, null);
            request.Updates.Writer.TryComplete();
        }

        if (live.Count == 0)
        {
            return;
        }

        var longestPrompt = live.Max(r => r.PromptTokens);
        var maxLength = Math.Min(model.ContextLength, longestPrompt + live.Max(r => r.MaxTokens));
        var minLength = live[0].MinTokens > 0 ? longestPrompt + live[0].MinTokens : 0;
        _metrics.Running(model.Name, +live.Count);
        var sequences = live.Select(r => new Sequence(r, model.CreateDecoder())).ToArray();
        try
        {
            using var generation = model.StartBatch([.. live.Select(r => r.Prompt)], live[0].Sampling, maxLength, minLength);
            var active = sequences.Length;
            while (active > 0)
            {
                foreach (var sequence in sequences)
                {
                    if (!sequence.Done && sequence.Request.Cancellation.IsCancellationRequested)
                    {
                        Finish(sequence, FinishReasons.Cancelled);
                        active--;
                    }
                }

                if (active == 0)
                {
                    break;
                }

                var tokens = generation.Next();
                var now = Stopwatch.GetTimestamp();
                for (var i = 0; i < sequences.Length; i++)
                {
                    var sequence = sequences[i];
                    if (sequence.Done)
                    {
                        continue;
                    }

                    if (Step(sequence, tokens[i], now, model))
                    {
                        active--;
                    }
                }
            }
        }
        finally
        {
            foreach (var sequence in sequences)
            {
                sequence.Decoder.Dispose();
            }

            _metrics.Running(model.Name, -live.Count);
        }
    }

    /// <summary>Feeds one token to a sequence; true when the sequence ended.</summary>
    private bool Step(Sequence sequence, int token, long now, ILanguageModel model)
    {
        var request = sequence.Request;
        sequence.Generated++;
        sequence.Tokens?.Add(token);
        if (sequence.Generated == 1)
        {
            sequence.FirstTokenAt = now;
            _metrics.FirstToken(request, Stopwatch.GetElapsedTime(request.EnqueuedAt, now));
        }

        if (model.EndOfSequenceTokens.Contains(token))
        {
            Finish(sequence, FinishReasons.Stop);
            return true;
        }

        var text = sequence.Stops.Push(sequence.Decoder.Decode(token));
        if (sequence.Stops.Stopped)
        {
            Finish(sequence, FinishReasons.Stop, text);
            return true;
        }

        if (sequence.Generated >= request.MaxTokens)
        {
            Finish(sequence, FinishReasons.Length, text);
            return true;
        }

        if (text.Length > 0)
        {
            request.Updates.Writer.TryWrite(new GenerationUpdate(text, sequence.Generated, null));
        }

        return false;
    }

    private void Finish(Sequence sequence, string reason, string text = "")
    {
        sequence.Done = true;
        var request = sequence.Request;
        if (reason != FinishReasons.Stop || !sequence.Stops.Stopped)
        {
            text += sequence.Stops.Flush();
        }

        if (reason == FinishReasons.Cancelled)
        {
            request.Updates.Writer.TryComplete();
        }
        else
        {
            request.Updates.Writer.TryWrite(new GenerationUpdate(text, sequence.Generated, reason, sequence.Tokens));
            request.Updates.Writer.TryComplete();
        }

        var decodeTime = sequence.FirstTokenAt is { } first && sequence.Generated > 1
            ? Stopwatch.GetElapsedTime(first) / (sequence.Generated - 1)
            : (TimeSpan?)null;
        _metrics.Finished(request, reason, sequence.Generated, decodeTime);
    }

    private sealed class Sequence(GenerationRequest request, ITokenTextDecoder decoder)
    {
        public GenerationRequest Request { get; } = request;

        public ITokenTextDecoder Decoder { get; } = decoder;

        public StopSequenceMatcher Stops { get; } = new(request.StopSequences);

        public List<int>? Tokens { get; } = request.ReturnTokenIds ? [] : null;

        public int Generated { get; set; }

        public long? FirstTokenAt { get; set; }

        public bool Done { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} requests for model {Model} failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count, string model);
}
