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
public sealed partial class GenerationScheduler : IHostedService
{
    private readonly InferenceServerOptions _options;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger<GenerationScheduler> _logger;
    private int _admitting;
    private readonly object _gate = new();
    private readonly LinkedList<GenerationRequest> _waiting = new();
    private readonly List<Thread> _workers = [];
    private bool _stopping;
    private int _lastBatchSize;

    /// <summary>The queue length, readable without the lock by a running batch deciding whether to look.</summary>
    private int _waitingCount;

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

    /// <summary>
    /// Takes a place in the queue for a request that is still being prepared (chat template, tokenizing, guidance), so
    /// that the preparation of requests beyond the queue's bound is refused before it costs anything. Null when the
    /// queue is full (the caller answers 429); dispose the place when the request is not queued after all.
    /// </summary>
    public Admission? TryAdmit(string model)
    {
        lock (_gate)
        {
            if (_stopping || _waiting.Count + _admitting >= _options.MaxQueuedRequests)
            {
                _metrics.Rejected(model);
                return null;
            }

            _admitting++;
            return new Admission(this);
        }
    }

    /// <summary>Queues a request; false when the queue is full (the caller answers 429).</summary>
    public bool TryEnqueue(GenerationRequest request) => TryEnqueue(request, null);

    /// <summary>Queues a request into the place <paramref name="admission"/> holds (or a free one when null).</summary>
    public bool TryEnqueue(GenerationRequest request, Admission? admission)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var reserved = admission is { Used: false } && admission.Owner == this;
            if (_stopping || (!reserved && _waiting.Count + _admitting >= _options.MaxQueuedRequests))
            {
                _metrics.Rejected(request.Model.Name);
                return false;
            }

            if (reserved)
            {
                admission!.Used = true;
                _admitting--;
            }

            request.EnqueuedAt = Stopwatch.GetTimestamp();
            request.QueueNode = _waiting.AddLast(request);
            Volatile.Write(ref _waitingCount, _waiting.Count);
            _metrics.Waiting(request.Model.Name, +1);
            Monitor.PulseAll(_gate);
        }

        // A client that leaves while queued gives its place back at once.
        request.Cancellation.Register(() => Withdraw(request));
        return true;
    }

    private void Release(Admission admission)
    {
        lock (_gate)
        {
            if (!admission.Used)
            {
                admission.Used = true;
                _admitting--;
            }
        }
    }

    /// <summary>A place in the queue held while a request is prepared; disposing an unused one gives it back.</summary>
    public sealed class Admission : IDisposable
    {
        internal Admission(GenerationScheduler owner) => Owner = owner;

        internal GenerationScheduler Owner { get; }

        internal bool Used { get; set; }

        public void Dispose() => Owner.Release(this);
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
            Volatile.Write(ref _waitingCount, 0);
            Monitor.PulseAll(_gate);
        }

        foreach (var request in abandoned)
        {
            _metrics.Waiting(request.Model.Name, -1);
            request.Complete(new OperationCanceledException("The server is shutting down."));
        }

        foreach (var worker in _workers)
        {
            worker.Join(TimeSpan.FromSeconds(10));
        }

        return Task.CompletedTask;
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
            Volatile.Write(ref _waitingCount, _waiting.Count);
            request.QueueNode = null;
        }

        _metrics.Waiting(request.Model.Name, -1);
        _metrics.Finished(request, FinishReasons.Cancelled, 0, null);
        request.Complete();
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
                    request.Complete(e);
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

            var batch = TakeCompatible(BatchShape.For(_waiting.First!.Value), _options.MaxBatchSize, includeFirst: true);
            _lastBatchSize = batch.Count;
            return batch;
        }
    }

    /// <summary>
    /// Removes from the queue, oldest first, the requests that fit <paramref name="shape"/> (see
    /// <see cref="BatchShape.Admits"/>), at most <paramref name="capacity"/>. With <paramref name="includeFirst"/> the
    /// oldest is taken whatever it is, and alone when it cannot share. Caller holds the lock.
    /// </summary>
    private List<GenerationRequest> TakeCompatible(BatchShape shape, int capacity, bool includeFirst)
    {
        var taken = new List<GenerationRequest>();
        for (var node = _waiting.First; node is not null && taken.Count < capacity;)
        {
            var next = node.Next;
            var candidate = node.Value;
            var first = includeFirst && taken.Count == 0 && node == _waiting.First;
            if (first || shape.Admits(candidate))
            {
                _waiting.Remove(node);
                Volatile.Write(ref _waitingCount, _waiting.Count);
                candidate.QueueNode = null;
                taken.Add(candidate);
                shape = shape.With(candidate);
                if (first && !shape.Shareable)
                {
                    break;
                }
            }

            node = next;
        }

        return taken;
    }

    private void Run(List<GenerationRequest> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var model = batch[0].Model;
        var sampling = batch[0].Sampling;
        var minTokens = batch[0].MinTokens;
        var sequences = Admit(batch, model);
        IBatchGeneration? generation = null;
        long kvHeld = 0;
        try
        {
            var stepsSinceStart = 0;
            while (true)
            {
                var liveCount = 0;
                foreach (var sequence in sequences)
                {
                    if (!sequence.Done && sequence.Request.Cancellation.IsCancellationRequested)
                    {
                        Finish(sequence, FinishReasons.Cancelled);
                    }

                    liveCount += sequence.Done ? 0 : 1;
                }

                if (liveCount == 0)
                {
                    break;
                }

                // Continuous batching on a generator that cannot grow: when compatible requests wait and the batch
                // has room (finished sequences free theirs), restart it with the live sequences — prompt plus what
                // they generated, recomputed in one prefill — and the newcomers. A restart costs that prefill, so it
                // waits until the newcomers are at least half as many as the running sequences, or the oldest has
                // waited RebatchMaxWait.
                if (generation is not null && stepsSinceStart >= _options.RebatchInterval && liveCount < _options.MaxBatchSize
                    && Volatile.Read(ref _waitingCount) > 0 && ShouldRebatch(liveCount))
                {
                    var live = sequences.Where(s => !s.Done).ToList();
                    var shape = BatchShape.For(batch[0]).Holding(live.Max(s => s.Length), live.Max(s => s.Remaining));
                    List<GenerationRequest> joining;
                    lock (_gate)
                    {
                        joining = TakeCompatible(shape, _options.MaxBatchSize - live.Count, includeFirst: false);
                    }

                    if (joining.Count > 0)
                    {
                        generation.Dispose();
                        generation = null;
                        foreach (var finished in sequences.Where(s => s.Done))
                        {
                            finished.Decoder.Dispose();
                        }

                        sequences = [.. live, .. Admit(joining, model)];
                        _metrics.Rebatched(model.Name);
                    }
                }

                if (generation is null)
                {
                    var longest = sequences.Max(s => s.Length);
                    var maxLength = Math.Min(model.ContextLength, longest + sequences.Max(s => s.Remaining));
                    var minLength = minTokens > 0 ? longest + minTokens : 0;
                    generation = model.StartBatch([.. sequences.Select(s => s.Tokens)], sampling, maxLength, minLength);
                    stepsSinceStart = 0;
                }

                var tokens = generation.Next();
                stepsSinceStart++;
                var now = Stopwatch.GetTimestamp();
                for (var i = 0; i < sequences.Count; i++)
                {
                    if (!sequences[i].Done)
                    {
                        Step(sequences[i], tokens[i], now, model, sampling.TopLogprobs is null ? default : generation.Logits(i));
                    }
                }

                var held = sequences.Where(s => !s.Done).Sum(s => (long)s.Length);
                _metrics.KvTokens(held - kvHeld);
                kvHeld = held;
            }
        }
        finally
        {
            generation?.Dispose();
            _metrics.KvTokens(-kvHeld);
            foreach (var sequence in sequences)
            {
                sequence.Decoder.Dispose();
                if (!sequence.Done)
                {
                    sequence.Done = true;
                    _metrics.Running(model.Name, -1);
                }
            }
        }
    }

    private bool ShouldRebatch(int live)
    {
        lock (_gate)
        {
            if (_waiting.First is not { } oldest)
            {
                return false;
            }

            return _waiting.Count * 2 >= live
                || Stopwatch.GetElapsedTime(oldest.Value.EnqueuedAt) >= _options.RebatchMaxWait;
        }
    }

    /// <summary>Turns taken requests into running sequences; requests whose clients already left end here.</summary>
    private List<Sequence> Admit(List<GenerationRequest> requests, ILanguageModel model)
    {
        var admitted = new List<Sequence>();
        foreach (var request in requests)
        {
            _metrics.Waiting(model.Name, -1);
            if (request.Cancellation.IsCancellationRequested)
            {
                _metrics.Finished(request, FinishReasons.Cancelled, 0, null);
                request.Complete();
                continue;
            }

            _metrics.Running(model.Name, +1);
            admitted.Add(new Sequence(request, model.CreateDecoder()));
        }

        return admitted;
    }

    /// <summary>Feeds one token to a sequence (with the logits it was chosen from when log probabilities were asked for).</summary>
    private void Step(Sequence sequence, int token, long now, ILanguageModel model, ReadOnlySpan<float> logits)
    {
        var request = sequence.Request;
        sequence.Generated.Add(token);
        if (sequence.Generated.Count == 1)
        {
            sequence.FirstTokenAt = now;
            _metrics.FirstToken(request, Stopwatch.GetElapsedTime(request.EnqueuedAt, now));
        }

        if (model.EndOfSequenceTokens.Contains(token))
        {
            Finish(sequence, FinishReasons.Stop);
            return;
        }

        if (request.Sampling.TopLogprobs is { } top && !logits.IsEmpty)
        {
            (sequence.Logprobs ??= []).Add(TokenLogprobs.Of(model, logits, token, top));
        }

        var text = sequence.Stops.Push(sequence.Decoder.Decode(token));
        if (sequence.Stops.Stopped)
        {
            Finish(sequence, FinishReasons.Stop, text);
            return;
        }

        if (sequence.Generated.Count >= request.MaxTokens)
        {
            Finish(sequence, FinishReasons.Length, text);
            return;
        }

        if (text.Length > 0)
        {
            request.Updates.Writer.TryWrite(new GenerationUpdate(text, sequence.Generated.Count, null, Logprobs: sequence.TakeLogprobs()));
        }
    }

    private void Finish(Sequence sequence, string reason, string text = "")
    {
        sequence.Done = true;
        var request = sequence.Request;
        var model = request.Model.Name;
        _metrics.Running(model, -1);
        if (reason != FinishReasons.Stop || !sequence.Stops.Stopped)
        {
            text += sequence.Stops.Flush();
        }

        var generated = sequence.Generated.Count;
        if (reason != FinishReasons.Cancelled)
        {
            request.Updates.Writer.TryWrite(new GenerationUpdate(text, generated, reason, request.ReturnTokenIds ? sequence.Generated : null, sequence.TakeLogprobs()));
        }

        request.Complete();
        var decodeTime = sequence.FirstTokenAt is { } first && generated > 1
            ? Stopwatch.GetElapsedTime(first) / (generated - 1)
            : (TimeSpan?)null;
        _metrics.Finished(request, reason, generated, decodeTime);
    }

    private sealed class Sequence(GenerationRequest request, ITokenTextDecoder decoder)
    {
        public GenerationRequest Request { get; } = request;

        public ITokenTextDecoder Decoder { get; } = decoder;

        public StopSequenceMatcher Stops { get; } = new(request.StopSequences);

        public List<int> Generated { get; } = [];

        /// <summary>Prompt and generated tokens: what a restarted generator is fed.</summary>
        public int[] Tokens => [.. Request.PromptIds, .. Generated];

        public int Length => Request.PromptIds.Count + Generated.Count;

        public int Remaining => Request.MaxTokens - Generated.Count;

        public long? FirstTokenAt { get; set; }

        public bool Done { get; set; }

        /// <summary>Log probabilities of tokens not yet sent (a token may complete no character).</summary>
        public List<TokenLogprob>? Logprobs { get; set; }

        public List<TokenLogprob>? TakeLogprobs()
        {
            var taken = Logprobs;
            Logprobs = taken is null ? null : [];
            return taken;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} requests for model {Model} failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count, string model);
}
