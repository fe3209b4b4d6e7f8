using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Onnx;
using Kaito.Models.Tokenizers;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Kaito.InferenceServer.Engine;

/// <summary>An ONNX Runtime GenAI model folder behind <see cref="ILanguageModel"/>.</summary>
internal sealed class GenAiLanguageModel : ILanguageModel
{
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly string? _chatTemplate;
    private readonly int _vocabularySize;

    public GenAiLanguageModel(string directory, string name, string executionProvider, int? contextLength, int? intraOpThreads)
    {
        var genAiConfig = GenAiConfig.Load(directory);
        var modelContext = genAiConfig.ContextLength;
        ContextLength = contextLength is { } limit ? Math.Min(limit, modelContext) : modelContext;
        _vocabularySize = genAiConfig.Root["model"]?["vocab_size"]?.GetValue<int>() ?? 0;

        using (var config = new Config(directory))
        {
            config.ClearProviders();
            if (!string.Equals(executionProvider, "cpu", StringComparison.OrdinalIgnoreCase))
            {
                config.AppendProvider(executionProvider.ToLowerInvariant());
            }

            if (intraOpThreads is { } threads)
            {
                config.Overlay(IntraOpThreadsOverlay(threads));
            }

            _model = new Model(config);
        }

        _tokenizer = new Tokenizer(_model);
        Name = name;
        EndOfSequenceTokens = _tokenizer.GetEosTokenIds().ToArray().ToHashSet();
        _chatTemplate = File.Exists(Path.Combine(directory, TokenizerConfig.FileName))
            ? TokenizerConfig.Load(directory).ChatTemplate
            : null;
    }

    public string Name { get; }

    /// <summary>A genai_config overlay that sets ONNX Runtime's intra-op thread count for the decoder session.</summary>
    public static string IntraOpThreadsOverlay(int threads) =>
        new JsonObject { ["model"] = new JsonObject { ["decoder"] = new JsonObject { ["session_options"] = new JsonObject { ["intra_op_num_threads"] = threads } } } }
            .ToJsonString();

    public int ContextLength { get; }

    public IReadOnlySet<int> EndOfSequenceTokens { get; }

    public int CountTokens(string text)
    {
        using var sequences = _tokenizer.Encode(text);
        return sequences[0].Length;
    }

    public int[] Encode(string text)
    {
        using var sequences = _tokenizer.Encode(text);
        return sequences[0].ToArray();
    }

    public string Decode(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] < 0 || (_vocabularySize > 0 && tokens[i] >= _vocabularySize))
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"tokens[{i}] = {tokens[i]} is not in the vocabulary (0..{_vocabularySize - 1}).");
            }
        }

        return _tokenizer.Decode([.. tokens]);
    }

    public string ApplyChatTemplate(IReadOnlyList<PromptMessage> messages, bool addGenerationPrompt)
    {
        var array = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        return _tokenizer.ApplyChatTemplate(_chatTemplate, array.ToJsonString(), null, addGenerationPrompt);
    }

    public string? CheckGuidance(Guidance guidance)
    {
        ArgumentNullException.ThrowIfNull(guidance);
        // The grammar is compiled when a generator is made; a one-token generator is the cheapest way to ask.
        try
        {
            using var parameters = new GeneratorParams(_model);
            parameters.SetSearchOption("max_length", 2);
            parameters.SetGuidance(guidance.Type, guidance.Data, false);
            using var generator = new Generator(_model, parameters);
            return null;
        }
        catch (OnnxRuntimeGenAIException e)
        {
            return e.Message;
        }
    }

    public ITokenTextDecoder CreateDecoder() => new Decoder(_tokenizer.CreateStream());

    public IBatchGeneration StartBatch(IReadOnlyList<IReadOnlyList<int>> sequences, SamplingSettings sampling, int maxLength, int minLength)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(sampling);
        var parameters = new GeneratorParams(_model);
        Generator? generator = null;
        Sequences? input = null;
        try
        {
            parameters.SetSearchOption("batch_size", sequences.Count);
            parameters.SetSearchOption("max_length", maxLength);
            parameters.SetSearchOption("min_length", minLength);
            parameters.SetSearchOption("do_sample", sampling.DoSample);
            if (sampling.RepetitionPenalty != 1)
            {
                parameters.SetSearchOption("repetition_penalty", sampling.RepetitionPenalty);
            }

            if (sampling.DoSample)
            {
                parameters.SetSearchOption("temperature", sampling.Temperature);
                parameters.SetSearchOption("top_p", sampling.TopP);
                // No top-k filter unless asked: GenAI treats top_k = 1 as greedy.
                parameters.SetSearchOption("top_k", sampling.TopK > 0 ? sampling.TopK : Math.Max(_vocabularySize, 2));
                if (sampling.Seed is { } seed)
                {
                    parameters.SetSearchOption("random_seed", seed);
                }
            }

            if (sampling.Guidance is { } guidance)
            {
                parameters.SetGuidance(guidance.Type, guidance.Data, false);
            }

            generator = new Generator(_model, parameters);
            // Sequences built from ids, not re-encoded text: a restarted batch continues exactly where it was.
            input = _tokenizer.EncodeBatch([.. Enumerable.Repeat(string.Empty, sequences.Count)]);
            for (var i = 0; i < sequences.Count; i++)
            {
                foreach (var token in sequences[i])
                {
                    input.Append(token, (ulong)i);
                }
            }

            generator.AppendTokenSequences(input);
            return new Batch(parameters, generator, sequences.Count);
        }
        catch
        {
            generator?.Dispose();
            parameters.Dispose();
            throw;
        }
        finally
        {
            input?.Dispose();
        }
    }

    public void Dispose()
    {
        _tokenizer.Dispose();
        _model.Dispose();
    }

    private sealed class Batch(GeneratorParams parameters, Generator generator, int batchSize) : IBatchGeneration
    {
        private float[]? _logits;
        private long _positions;
        private long _vocabulary;

        public int BatchSize => batchSize;

        public ReadOnlySpan<int> Next()
        {
            generator.GenerateNextToken();
            _logits = null;
            return generator.GetNextTokens();
        }

        public ReadOnlySpan<float> Logits(int sequence)
        {
            if (_logits is null)
            {
                // The graph's logits output of the step just run: [batch, positions, vocabulary], where positions is
                // the prompt's length on the first step and 1 after; each sequence's last position chose its token.
                using var output = generator.GetOutput("logits");
                var shape = output.Shape();
                (_positions, _vocabulary) = shape.Length == 3 ? (shape[1], shape[2]) : (1, shape[^1]);
                _logits = output.GetData<float>().ToArray();
            }

            var start = checked((int)((((sequence + 1) * _positions) - 1) * _vocabulary));
            return _logits.AsSpan(start, (int)_vocabulary);
        }

        public void Dispose()
        {
            generator.Dispose();
            parameters.Dispose();
        }
    }

    private sealed class Decoder(TokenizerStream stream) : ITokenTextDecoder
    {
        public string Decode(int token) => stream.Decode(token);

        public void Dispose() => stream.Dispose();
    }
}
