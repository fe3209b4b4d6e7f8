using System.Net;
using System.ClientModel;
using Kaito.Models.Tiny;
using Kaito.Testing;
using OpenAI;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// The tiny model (with one random LoRA adapter, <c>demo</c>) generated into a temp folder and served by the real
/// inference server process on a free loopback port.
/// </summary>
public class InferenceServerFixture : IAsyncLifetime
{
    public const string ModelName = TinyModel.ServedName;
    public const string AdapterName = "demo";

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
