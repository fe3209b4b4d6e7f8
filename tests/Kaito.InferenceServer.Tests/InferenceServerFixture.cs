using System.Net;
using System.ClientModel;
using Kaito.Models.Tiny;
using Kaito.Testing;
using OpenAI;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// The tiny model (with one random LoRA adapter, <c>demo</c>) generated into a temp folder and served by the real
/// inference server process on a free loopback port. Beside <c>demo</c> lie malformed adapters (<see cref="BadAdapters"/>),
/// which the server must skip with a reason while the base and <c>demo</c> serve.
/// </summary>
public class InferenceServerFixture : IAsyncLifetime
{
    public const string ModelName = TinyModel.ServedName;
    public const string AdapterName = "demo";

    /// <summary>Malformed adapters and the reason the server gives for each.</summary>
    public static readonly IReadOnlyDictionary<string, string> BadAdapters = new Dictionary<string, string>
    {
        ["bad-rank-string"] = "r must be an integer, got \"8\"",
        ["bad-duplicate-keys"] = "not valid JSON: Duplicate property 'r'",
        ["bad-integer-tensor"] = "is stored as I64 and F32; LoRA weights must be F32, F16 or BF16",
    };

    private ServiceProcess? _server;

    public string Root { get; } = Directory.CreateTempSubdirectory("kaito-inference-tests-").FullName;

    public string HuggingFace => Path.Combine(Root, TinyModel.HuggingFaceFolder);

    public string Onnx => Path.Combine(Root, TinyModel.OnnxFolder);

    public string Adapters => Path.Combine(Root, "adapters");

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string ServerLog => _server?.Log ?? "";

    /// <summary>Extra switches for a fixture that needs a differently configured server.</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    public OpenAIClient OpenAi => new(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1") });

    public async Task InitializeAsync()
    {
        var (hf, _) = TinyModel.Generate(Root);
        TinyModel.RandomAdapter(hf, AdapterName, seed: 7).Save(Path.Combine(Adapters, AdapterName));
        WriteBadAdapters();
        var port = Ports.Free();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        _server = ServiceProcess.Start("Kaito.InferenceServer", Root,
        [
            "--model", Onnx, "--served-model-name", ModelName, "--base-weights", HuggingFace,
            "--adapters-dir", Adapters, "--cache-dir", Path.Combine(Root, "cache"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. ExtraArguments,
        ]);
        await Eventually.ValueAsync(
            async () => (await Http.GetAsync("health")).StatusCode == HttpStatusCode.OK ? "healthy" : null,
            TimeSpan.FromSeconds(90),
            () => $"The inference server did not become healthy:\n{ServerLog}");
    }

    private void WriteBadAdapters()
    {
        var good = Path.Combine(Adapters, AdapterName);
        var config = File.ReadAllText(Path.Combine(good, "adapter_config.json"));
        foreach (var name in BadAdapters.Keys)
        {
            Directory.CreateDirectory(Path.Combine(Adapters, name));
            File.Copy(Path.Combine(good, "adapter_model.safetensors"), Path.Combine(Adapters, name, "adapter_model.safetensors"));
        }

        File.WriteAllText(Path.Combine(Adapters, "bad-rank-string", "adapter_config.json"),
            System.Text.RegularExpressions.Regex.Replace(config, "\"r\": \\d+", "\"r\": \"8\""));
        File.WriteAllText(Path.Combine(Adapters, "bad-duplicate-keys", "adapter_config.json"), config.Replace("{", "{\n  \"r\": 4,", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(Adapters, "bad-integer-tensor", "adapter_config.json"), config);
        var tensors = Kaito.Models.Safetensors.SafetensorsFile.Read(Path.Combine(good, "adapter_model.safetensors"));
        var (aName, a) = tensors.First(t => t.Key.EndsWith(".lora_A.weight", StringComparison.Ordinal));
        tensors.Set(aName, new Kaito.Models.Safetensors.Tensor(Kaito.Models.Safetensors.TensorDType.I64, a.Shape, new byte[a.ElementCount * 8]));
        Kaito.Models.Safetensors.SafetensorsFile.Write(Path.Combine(Adapters, "bad-integer-tensor", "adapter_model.safetensors"), tensors);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

}

[CollectionDefinition(Name)]
public sealed class SharedInferenceServer : ICollectionFixture<InferenceServerFixture>
{
    public const string Name = "inference server";
}
