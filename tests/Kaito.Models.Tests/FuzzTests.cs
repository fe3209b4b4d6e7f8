using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Safetensors;
using Kaito.Models.Tiny;
using Kaito.Models.Tokenizers;
using Kaito.Testing;
using Xunit.Abstractions;

namespace Kaito.Models.Tests;

/// <summary>
/// The model-file parsers against thousands of mutated files (seeded, so repeatable): each file loads or is refused with
/// an <see cref="InvalidDataException"/> naming it — never another exception, which would take a server down.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 10_000;
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-models-fuzz-").FullName;

    [Fact]
    public void SafetensorsFiles()
    {
        var adapter = TinyAdapter();
        var mixed = new TensorCollection(new Dictionary<string, string> { ["format"] = "pt" });
        mixed.Add("f16", Tensor.FromFloats([1f, 2f, 3f, 4f], [2, 2], TensorDType.F16));
        mixed.Add("bf16", Tensor.FromFloats([1f, -2f], [2], TensorDType.BF16));
        mixed.Add("i64", new Tensor(TensorDType.I64, [3], new byte[24]));
        using var stream = new MemoryStream();
        SafetensorsFile.Write(stream, mixed);

        Report(Fuzzer.Run("safetensors", [File.ReadAllBytes(Path.Combine(adapter, LoraAdapter.WeightsFileName)), stream.ToArray()], Iterations, 1,
            bytes => SafetensorsFile.Read(new MemoryStream(bytes)), e => e is InvalidDataException));
    }

    [Fact]
    public void TokenizerJson() => FuzzFile("tokenizer.json", BpeTokenizer.FileName, directory => BpeTokenizer.Load(directory));

    [Fact]
    public void TokenizerConfigJson() => FuzzFile("tokenizer_config.json", TokenizerConfig.FileName, directory => TokenizerConfig.Load(directory));

    [Fact]
    public void ModelConfigJson() => FuzzFile("config.json", DecoderConfig.FileName, directory => DecoderConfig.Load(directory));

    [Fact]
    public void AdapterConfigJson()
    {
        var adapter = TinyAdapter();
        var folder = Path.Combine(_root, "adapter-under-test");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(adapter, LoraAdapter.WeightsFileName), Path.Combine(folder, LoraAdapter.WeightsFileName));

        Report(Fuzzer.Run("adapter_config.json", [File.ReadAllBytes(Path.Combine(adapter, LoraAdapter.ConfigFileName))], Iterations, 5, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, LoraAdapter.ConfigFileName), bytes);
            LoraAdapter.Load(folder);
        }, e => e is InvalidDataException));
    }

    private void FuzzFile(string target, string fileName, Action<string> load)
    {
        var model = TinyModelFolder();
        var folder = Path.Combine(_root, $"{fileName}-under-test");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(model))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }

        Report(Fuzzer.Run(target, [File.ReadAllBytes(Path.Combine(model, fileName))], Iterations, fileName.Length, bytes =>
        {
            File.WriteAllBytes(Path.Combine(folder, fileName), bytes);
            load(folder);
        }, e => e is InvalidDataException));
    }

    private string TinyModelFolder()
    {
        var hf = Path.Combine(_root, TinyModel.HuggingFaceFolder);
        if (!Directory.Exists(hf))
        {
            TinyModel.WriteHuggingFace(hf);
        }

        return hf;
    }

    private string TinyAdapter()
    {
        var folder = Path.Combine(_root, "adapter-seed");
        if (!Directory.Exists(folder))
        {
            TinyModel.RandomAdapter(TinyModelFolder(), "seed", seed: 3).Save(folder);
        }

        return folder;
    }

    private void Report(Fuzzer.Report report) => output.WriteLine(report.ToString());

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
