using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Kaito.Tuner.Tests;

/// <summary>Bad inputs end the job with exit code 2 (3 for what this build cannot do) and a one-line cause.</summary>
public sealed class BadInputTests(TuningFixture fixture) : IClassFixture<TuningFixture>
{
    [Fact]
    public async Task MalformedYamlNamesTheLine() =>
        await AssertFailsAsync(config: "training_config:\n  LoraConfig: [r: 8\n", expectedExit: 2, expected: "line");

    [Fact]
    public async Task ANestedYamlBombIsRefusedNamingTheLimit() =>
        await AssertFailsAsync(config: "training_config:\n  LoraConfig: " + new string('[', 100_000) + new string(']', 100_000) + "\n", expectedExit: 2,
            expected: "line 2: invalid YAML: nesting is deeper than 64 levels");

    [Fact]
    public async Task AnInvalidValueNamesSectionAndKey() =>
        await AssertFailsAsync(config: TuningFixture.LoraConfig(10).Replace("r: 8", "r: eight", StringComparison.Ordinal), expectedExit: 2, expected: "LoraConfig.r is 'eight'; it must be an integer");

    [Fact]
    public async Task AnUnknownSchedulerIsRefusedListingTheKnownOnes() =>
        await AssertFailsAsync(config: TuningFixture.LoraConfig(10).Replace("warmup_steps: 2", "warmup_steps: 2\n    lr_scheduler_type: polynomial", StringComparison.Ordinal),
            expectedExit: 2, expected: "TrainingArguments.lr_scheduler_type is 'polynomial'; it must be one of linear, cosine, constant, constant_with_warmup");

    [Fact]
    public async Task ATargetModuleTheModelDoesNotHaveIsNamed() =>
        await AssertFailsAsync(config: TuningFixture.LoraConfig(10).Replace("[\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\"]", "[\"qkv_proj\"]", StringComparison.Ordinal),
            expectedExit: 2, expected: "LoraConfig.target_modules (qkv_proj) matches no module of this model (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");

    [Fact]
    public async Task AnUnknownQuantizationMethodIsRefused() =>
        await AssertFailsAsync(config: TuningFixture.LoraConfig(10).Replace("load_in_4bit: false", "load_in_4bit: true\n    bnb_4bit_quant_type: fp4", StringComparison.Ordinal),
            expectedExit: 2, expected: "QuantizationConfig.bnb_4bit_quant_type is 'fp4'; it must be one of nf4");

    [Fact]
    public async Task AnUnknownExtensionIsRefused() =>
        await AssertFailsAsync(files: [("train.txt", "hello")], expectedExit: 2, expected: "no dataset file");

    [Fact]
    public async Task AnEmptyDatasetIsRefused() =>
        await AssertFailsAsync(files: [("train.jsonl", "")], expectedExit: 2, expected: "the dataset has no rows");

    [Fact]
    public async Task RowsWithoutUsableColumnsAreRefusedNamingTheColumns() =>
        await AssertFailsAsync(files: [("train.jsonl", "{\"question\":\"a\",\"answer\":\"b\"}\n")], expectedExit: 2, expected: "the first row has question, answer");

    [Fact]
    public async Task ACorruptParquetFileIsRefusedNamingIt() =>
        await AssertFailsAsync(files: [("train.parquet", "PAR1 this is not parquet")], expectedExit: 2, expected: "train.parquet: cannot read as parquet");

    [Fact]
    public async Task ACorruptArrowFileIsRefusedNamingIt() =>
        await AssertFailsAsync(files: [("data-00000-of-00001.arrow", "ARROW1 but nothing after it")], expectedExit: 2,
            expected: "data-00000-of-00001.arrow: cannot read as arrow");

    [Theory]
    [InlineData("self-referencing-field.arrow", "the Arrow message at byte 4 is corrupt")]
    [InlineData("looping-footer.parquet", "cannot read as parquet: the footer is corrupt")]
    public async Task AHostileDatasetFileIsRefusedInsteadOfCrashingOrSpinning(string file, string expected)
    {
        // Found by the fuzz tests: an Arrow schema whose field is its own child overflowed Apache.Arrow's stack (the process
        // died with no message), and a parquet footer made Parquet.Net's Thrift reader loop for ever at full CPU.
        var data = Path.Combine(fixture.Root, $"data-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", file), Path.Combine(data, file));

        await AssertFailsAsync(dataDirectory: data, expectedExit: 2, expected: expected);
    }

    [Fact]
    public async Task CudaOnTheCpuBuildIsUnsupported() =>
        await AssertFailsAsync(arguments: ["--device", "cuda"], expectedExit: 3, expected: "--device cuda: no CUDA device is usable");

    [Fact]
    public async Task AnUnknownDeviceIsRefused() =>
        await AssertFailsAsync(arguments: ["--device", "tpu"], expectedExit: 2, expected: "--device must be auto, cpu or cuda, not 'tpu'");

    [Fact]
    public async Task ACsvWithPromptAndCompletionColumnsTrains()
    {
        var data = Path.Combine(fixture.Root, $"data-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        var rows = string.Join("\n", Enumerable.Range(0, 8).Select(i => $"\"What is {i}, really?\",\"It is {i}.\""));
        File.WriteAllText(Path.Combine(data, "train.csv"), "prompt,completion\n" + rows + "\n");

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"csv-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", data, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.True(exit == 0, log);
        Assert.Contains("8 training examples", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnArrowStreamOfMessagesAsHuggingFaceDatasetsWritesItTrains()
    {
        var data = Path.Combine(fixture.Root, $"data-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        await WriteArrowMessagesAsync(Path.Combine(data, "data-00000-of-00001.arrow"),
            [.. Enumerable.Range(0, 6).Select(i => (User: $"What is {i}?", Assistant: $"It is {i}."))]);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"arrow-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", data, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.True(exit == 0, log);
        Assert.Contains("6 training examples", log, StringComparison.Ordinal);
    }

    /// <summary>A <c>messages</c> column of <c>list&lt;struct&lt;role: string, content: string&gt;&gt;</c> in Arrow's streaming format.</summary>
    internal static async Task WriteArrowMessagesAsync(string path, (string User, string Assistant)[] conversations)
    {
        var roles = new StringArray.Builder();
        var contents = new StringArray.Builder();
        var offsets = new ArrowBuffer.Builder<int>().Append(0);
        foreach (var (user, assistant) in conversations)
        {
            roles.Append("user").Append("assistant");
            contents.Append(user).Append(assistant);
            offsets.Append(roles.Length);
        }

        var message = new StructType([new Field("role", StringType.Default, true), new Field("content", StringType.Default, true)]);
        var structs = new StructArray(message, roles.Length, [roles.Build(), contents.Build()], ArrowBuffer.Empty);
        var listType = new ListType(new Field("item", message, true));
        var messages = new ListArray(listType, conversations.Length, offsets.Build(), structs, ArrowBuffer.Empty);
        var schema = new Schema.Builder().Field(f => f.Name("messages").DataType(listType)).Build();
        await using var stream = File.Create(path);
        using var writer = new ArrowStreamWriter(stream, schema);
        await writer.WriteRecordBatchAsync(new RecordBatch(schema, [messages], conversations.Length));
        await writer.WriteEndAsync();
    }

    private async Task AssertFailsAsync(string? config = null, (string Name, string Content)[]? files = null, int expectedExit = 2, string expected = "",
        string[]? arguments = null, string? dataDirectory = null)
    {
        var data = dataDirectory ?? fixture.Data;
        if (files is not null)
        {
            data = Path.Combine(fixture.Root, $"data-{Guid.NewGuid():N}");
            Directory.CreateDirectory(data);
            foreach (var (name, content) in files)
            {
                File.WriteAllText(Path.Combine(data, name), content);
            }
        }

        var (exit, log) = await TunerRun.RunAsync(fixture.Root,
        [
            "--config", fixture.Config($"bad-{Guid.NewGuid():N}", config ?? TuningFixture.LoraConfig(4)), "--data", data, "--model", fixture.Model,
            "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"), .. arguments ?? [],
        ]);

        Assert.True(exit == expectedExit, $"expected exit {expectedExit}, got {exit}:\n{log}");
        Assert.Contains($"Tuning job failed (exit code {expectedExit}): ", log, StringComparison.Ordinal);
        Assert.Contains(expected, log, StringComparison.Ordinal);
    }
}
