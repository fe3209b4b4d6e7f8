using System.Text;
using Kaito.Api.Serialization;
using Kaito.Api.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kaito.Api.Tests;

public sealed class BoundedYamlTests
{
    [Fact]
    public void OrdinaryDocumentsLoad()
    {
        var stream = BoundedYaml.Load("a:\n  b: [1, 2, {c: d}]\n---\nx: &anchor {y: 1}\nz: *anchor\n");

        Assert.Equal(2, stream.Documents.Count);
        Assert.Equal("d", ((YamlScalarNode)stream.Documents[0].RootNode["a"]["b"][2]["c"]).Value);
    }

    [Theory]
    [InlineData(100_000)] // about 200 KB: the ConfigMap that killed the controller through its webhook
    [InlineData(65)]
    public void DeepNestingIsRefusedWithoutBuildingTheTree(int depth)
    {
        var yaml = new string('[', depth) + new string(']', depth);

        var error = Assert.Throws<YamlException>(() => BoundedYaml.Load(yaml));

        Assert.Contains("nesting is deeper than 64 levels", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Start.Line);
    }

    [Fact]
    public void DeepBlockNestingNamesItsLine()
    {
        var yaml = new StringBuilder();
        for (var i = 0; i < 70; i++)
        {
            yaml.Append(' ', i).Append("k:\n");
        }

        var error = Assert.Throws<YamlException>(() => BoundedYaml.Load(yaml.ToString()));

        Assert.Contains("deeper than 64", error.Message, StringComparison.Ordinal);
        Assert.Equal(65, error.Start.Line);
    }

    [Fact]
    public void SixtyFourLevelsAreAccepted()
    {
        var yaml = new string('[', 64) + new string(']', 64);

        Assert.Single(BoundedYaml.Load(yaml).Documents);
    }

    [Fact]
    public void AliasesCountAsWhatTheyExpandTo()
    {
        // "billion laughs": nine levels of ten aliases each expand to 10^9 nodes from a few hundred bytes
        var yaml = new StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i <= 9; i++)
        {
            yaml.Append($"l{i}: &l{i} [").AppendJoin(", ", Enumerable.Repeat($"*l{i - 1}", 10)).Append("]\n");
        }

        var error = Assert.Throws<YamlException>(() => BoundedYaml.Load(yaml.ToString()));

        Assert.Contains("expands to more than 1000000 nodes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("? [a, b]\n: c\n")]
    [InlineData("{a: 1}: c\n")]
    [InlineData("x: &k a\n*k : b\n")]
    public void MappingKeysMustBeScalars(string yaml)
    {
        var error = Assert.Throws<YamlException>(() => BoundedYaml.Load(yaml));

        Assert.Contains("a mapping key must be a plain value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedTextIsRefused()
    {
        var error = Assert.Throws<YamlException>(() => BoundedYaml.Load(new string('a', BoundedYaml.DefaultMaxCharacters + 1)));

        Assert.Contains("at most 1048576 are accepted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainingConfigValidatorReportsTheBombAsAProblem()
    {
        var yaml = "training_config:\n  TrainingArguments: " + new string('[', 100_000) + new string(']', 100_000) + "\n";

        var problems = TrainingConfigValidator.Validate(yaml, "lora");

        var problem = Assert.Single(problems);
        Assert.Contains("training_config.yaml line 2: invalid YAML: nesting is deeper than 64 levels", problem, StringComparison.Ordinal);
        Assert.Equal("/mnt/results", TrainingConfigValidator.OutputDirectory(yaml));
    }

    [Fact]
    public void ManifestsWithNonScalarKeysAreRefusedWithTheirLine()
    {
        var error = Assert.Throws<Kaito.Api.Catalog.CatalogFormatException>(() => KaitoYaml.LoadAll("apiVersion: v1\nkind: ConfigMap\n? [a]\n: b\n"));

        Assert.Contains("<yaml>:3: invalid YAML: a mapping key must be a plain value", error.Message, StringComparison.Ordinal);
    }
}
