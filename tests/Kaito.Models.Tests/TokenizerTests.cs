using Kaito.Models.Tiny;
using Kaito.Models.Tokenizers;

namespace Kaito.Models.Tests;

public sealed class TokenizerTests
{
    private static readonly BpeTokenizer Tokenizer = BpeTrainer.Train(TinyCorpus.Text, 512, [TinyModel.EndOfText, TinyModel.ImStart, TinyModel.ImEnd]);

    [Theory]
    [InlineData("What is Kubernetes?")]
    [InlineData("unicode: café 東京 🚀")]
    [InlineData("  spaces\tand\nlines  ")]
    [InlineData("")]
    public void DecodeInvertsEncode(string text) => Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));

    [Fact]
    public void TrainingLearnsMergesSoCommonWordsTakeFewTokens()
    {
        Assert.Equal(512, Tokenizer.VocabularySize);
        Assert.True(Tokenizer.Encode(" Kubernetes").Length <= 2, "a word frequent in the corpus should merge");
        Assert.Equal(" Kubernetes".Length, Tokenizer.Encode(" Kubernetes").Sum(id => Tokenizer.Decode([id]).Length));
    }

    [Fact]
    public void SpecialTokensAreSingleIdsAndSplitTheText()
    {
        var ids = Tokenizer.Encode($"a{TinyModel.ImStart}b");

        Assert.Equal([Tokenizer.Encode("a")[0], Tokenizer.IdOf(TinyModel.ImStart)!.Value, Tokenizer.Encode("b")[0]], ids);
        Assert.Equal("ab", Tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void SaveAndLoadKeepTheSameIds()
    {
        var directory = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Tokenizer.Save(directory);
            var loaded = BpeTokenizer.Load(directory);

            const string text = "The operator provisions GPU nodes; ang modelo ay tumatakbo.";
            Assert.Equal(Tokenizer.Encode(text), loaded.Encode(text));
            Assert.Equal(Tokenizer.VocabularySize, loaded.VocabularySize);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        var again = BpeTrainer.Train(TinyCorpus.Text, 512, [TinyModel.EndOfText, TinyModel.ImStart, TinyModel.ImEnd]);

        Assert.Equal(Tokenizer.Merges, again.Merges);
    }

    [Fact]
    public void DecodingAnUnknownIdIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([100_000]));
}
