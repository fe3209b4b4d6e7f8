namespace Kaito.AppHost;

/// <summary>
/// What the local inference server serves: the folder named by <c>Kaito:Model</c> (<c>--model</c>; an ONNX GenAI or
/// Hugging Face folder), or else the generated tiny model kept in <c>.kaito/tiny-model</c> beside the AppHost
/// (generated on first run, served as <c>kaito-tiny</c>). LoRA adapters dropped in <c>.kaito/adapters/&lt;name&gt;</c>
/// are served under their folder names.
/// </summary>
public static class InferenceServerExtensions
{
    public static IResourceBuilder<ProjectResource> WithLocalModel(this IResourceBuilder<ProjectResource> server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var builder = server.ApplicationBuilder;
        var kaito = Path.Combine(builder.AppHostDirectory, ".kaito");
        var model = builder.Configuration["Kaito:Model"];
        var adapters = Path.Combine(kaito, "adapters");
        Directory.CreateDirectory(adapters);
        return string.IsNullOrWhiteSpace(model)
            ? server.WithArgs("--tiny-model", Path.Combine(kaito, "tiny-model"), "--adapters-dir", adapters)
            : server.WithArgs("--model", Path.GetFullPath(model), "--adapters-dir", adapters);
    }
}
