using Microsoft.ML.OnnxRuntimeGenAI;

namespace Kaito.InferenceServer.Engine;

/// <summary>
/// Owns ONNX Runtime GenAI's process-wide <see cref="OgaHandle"/>: created before the first model, disposed after
/// the last, so native shutdown happens once and in order.
/// </summary>
public sealed class GenAiRuntime : IDisposable
{
    private readonly OgaHandle _handle = new();

    public ILanguageModel Load(string directory, string name, string executionProvider, int? contextLength, int? intraOpThreads = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return new GenAiLanguageModel(directory, name, executionProvider, contextLength, intraOpThreads);
    }

    public void Dispose() => _handle.Dispose();
}
