using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;

namespace Kaito.InferenceServer.Tests;

/// <summary>The scheduler's batching rule: which waiting requests may share a running generator.</summary>
public sealed class BatchShapeTests
{
    private static readonly ContextOnlyModel Model = new("tiny", contextLength: 100);

    private static GenerationRequest Request(int prompt = 10, int maxTokens = 10, SamplingSettings? sampling = null, int minTokens = 0, ILanguageModel? model = null) => new()
    {
        Model = model ?? Model,
        PromptIds = Enumerable.Range(0, prompt).ToArray(),
        MaxTokens = maxTokens,
        MinTokens = minTokens,
        Sampling = sampling ?? SamplingSettings.Greedy,
    };

    [Fact]
    public void RequestsWithTheSameModelAndSamplingShareWhileTheyFitTheContext()
    {
        var shape = BatchShape.For(Request()).With(Request(prompt: 40, maxTokens: 20));

        Assert.True(shape.Admits(Request(prompt: 10, maxTokens: 60)));  // 40 longest + 60 to add = 100
        Assert.False(shape.Admits(Request(prompt: 10, maxTokens: 61)));
        Assert.False(shape.Admits(Request(prompt: 81, maxTokens: 1)));  // 81 + 20 still to add by the other
        Assert.True(shape.Admits(Request(prompt: 80, maxTokens: 1)));
    }

    [Fact]
    public void ADifferentModelOrSamplingNeverJoins()
    {
        var shape = BatchShape.For(Request());

        Assert.False(shape.Admits(Request(model: new ContextOnlyModel("tiny", contextLength: 100))));
        Assert.False(shape.Admits(Request(sampling: new SamplingSettings(true, 0.7, 0.9, 50, null))));
        Assert.True(shape.Admits(Request(sampling: new SamplingSettings(false, 0, 1, 1, null))));  // equal settings, another instance
    }

    public static TheoryData<string, SamplingSettings, int> RunAlone => new()
    {
        { "seeded sampling", new SamplingSettings(true, 0.7, 0.9, 50, Seed: 42), 0 },
        { "a minimum length", SamplingSettings.Greedy, 5 },
        { "constrained decoding", SamplingSettings.Greedy with { Guidance = new Guidance("regex", "[a-z]+") }, 0 },
    };

    [Theory]
    [MemberData(nameof(RunAlone))]
    public void ARequestWhoseGeneratorKeepsStateRunsAloneAndTakesNoOne(string why, SamplingSettings sampling, int minTokens)
    {
        var alone = BatchShape.For(Request(sampling: sampling, minTokens: minTokens));

        Assert.False(alone.Shareable, why);
        Assert.False(alone.Admits(Request(sampling: sampling, minTokens: minTokens)), why);
        Assert.False(BatchShape.For(Request()).Admits(Request(sampling: sampling, minTokens: minTokens)), why);
    }

    [Fact]
    public void SeedIsHarmlessWithoutSampling()
    {
        var greedySeeded = SamplingSettings.Greedy with { Seed = 7 };

        Assert.True(BatchShape.IsShareable(greedySeeded, 0));
    }

    [Fact]
    public void ARunningBatchCountsWhatItsSequencesHaveGeneratedAndMayStillAdd()
    {
        // A sequence 90 tokens long (prompt and output so far) with 5 left to add.
        var running = BatchShape.For(Request()).Holding(longest: 90, remaining: 5);

        Assert.True(running.Admits(Request(prompt: 5, maxTokens: 10)));
        Assert.False(running.Admits(Request(prompt: 5, maxTokens: 11)));
    }

    /// <summary>Only what the rule reads: a name and a context length.</summary>
    private sealed class ContextOnlyModel(string name, int contextLength) : ILanguageModel
    {
        public string Name => name;

        public int ContextLength => contextLength;

        public IReadOnlySet<int> EndOfSequenceTokens => throw new NotSupportedException();

        public int CountTokens(string text) => throw new NotSupportedException();

        public int[] Encode(string text) => throw new NotSupportedException();

        public string Decode(IReadOnlyList<int> tokens) => throw new NotSupportedException();

        public string ApplyChatTemplate(IReadOnlyList<PromptMessage> messages, bool addGenerationPrompt) => throw new NotSupportedException();

        public string? CheckGuidance(Guidance guidance) => throw new NotSupportedException();

        public ITokenTextDecoder CreateDecoder() => throw new NotSupportedException();

        public IBatchGeneration StartBatch(IReadOnlyList<IReadOnlyList<int>> sequences, SamplingSettings sampling, int maxLength, int minLength) =>
            throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
