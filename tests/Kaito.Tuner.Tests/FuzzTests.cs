using System.Text;
using Kaito.Testing;
using Kaito.Tuner.Configuration;
using Kaito.Tuner.Data;
using Parquet.Serialization;
using Xunit.Abstractions;

namespace Kaito.Tuner.Tests;

/// <summary>
/// The tuner's readers of user data against thousands of mutated files (seeded, repeatable): a dataset (parquet, arrow,
/// csv, jsonl, json) or a training config is read or refused with an <see cref="InvalidDataException"/> naming the file —
/// which the tuner turns into exit code 2 and a termination message — never another exception.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 4000;
    private static readonly string[] s_templates = ["training-config-lora.yaml", "training-config-qlora.yaml"];
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-tuner-fuzz-").FullName;

    [Theory]
    [InlineData("parquet")]
    [InlineData("arrow")]
    [InlineData("csv")]
    [InlineData("jsonl")]
    [InlineData("json")]
    public async Task DatasetFiles(string extension)
    {
        var seed = Path.Combine(_root, $"seed.{extension}");
        await WriteSeedAsync(seed, extension);
        var target = Path.Combine(_root, $"fuzzed.{extension}");

        var report = await Fuzzer.RunAsync($"{extension} datasets", [await File.ReadAllBytesAsync(seed)], Iterations, extension.Length * 7, async bytes =>
        {
            await File.WriteAllBytesAsync(target, bytes);
            try
            {
                await Kaito.Tuner.Data.DatasetFiles.ReadAsync(target, extension, [], CancellationToken.None);
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        });

        output.WriteLine(report.ToString());
    }

    [Fact]
    public void TrainingConfigs()
    {
        List<byte[]> seeds = [.. s_templates.Select(f => File.ReadAllBytes(Repository.PathOf("Kaito.Api", "Data", f)))];

        output.WriteLine(Fuzzer.Run("training_config.yaml (tuner)", seeds, 10_000, 21,
            bytes => TuningConfig.Parse(Encoding.UTF8.GetString(bytes)), e => e is InvalidDataException).ToString());
    }

    private static async Task WriteSeedAsync(string path, string extension)
    {
        var conversations = new[] { ("What is a pod?", "The smallest unit."), ("What is a node?", "A machine, \"real\" or virtual.") };
        switch (extension)
        {
            case "parquet":
                await ParquetSerializer.SerializeAsync(conversations.Select(c => new TuningFixture.ConversationRow
                {
                    Messages = [new() { Role = "user", Content = c.Item1 }, new() { Role = "assistant", Content = c.Item2 }],
                }).ToList(), path);
                break;
            case "arrow":
                await BadInputTests.WriteArrowMessagesAsync(path, conversations);
                break;
            case "csv":
                await File.WriteAllTextAsync(path, "prompt,completion\n" + string.Join("\n", conversations.Select(c => $"\"{c.Item1}\",\"{c.Item2.Replace("\"", "\"\"", StringComparison.Ordinal)}\"")) + "\n");
                break;
            case "jsonl":
                await File.WriteAllTextAsync(path, string.Join("\n", conversations.Select(c =>
                    $$"""{"messages":[{"role":"user","content":"{{c.Item1}}"},{"role":"assistant","content":"{{c.Item2.Replace("\"", "\\\"", StringComparison.Ordinal)}}"}]}""")));
                break;
            default:
                await File.WriteAllTextAsync(path, "[" + string.Join(",", conversations.Select(c =>
                    $$"""{"instruction":"{{c.Item1}}","input":"","output":"{{c.Item2.Replace("\"", "\\\"", StringComparison.Ordinal)}}"}""")) + "]");
                break;
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
