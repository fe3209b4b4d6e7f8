using System.Text.Json.Nodes;
using Kaito.Api.Catalog;
using Kaito.Api.Sizing;
using Kaito.Models;
using Kaito.Models.Onnx;
using Kaito.Oci;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kaito.Cli;

/// <summary><c>kubectl kaito model push</c> and <c>model list</c>.</summary>
public static class ModelCommands
{
    /// <summary>Precisions the exporter writes today (int4/int8/fp16 graphs come with the engine's quantized export).</summary>
    public static readonly string[] Precisions = ["fp32"];

    /// <summary>
    /// Packages <paramref name="folder"/> (a Hugging Face model folder) as a model image and pushes it; prints the pinned
    /// reference (<c>image@digest</c>) on stdout, progress on stderr.
    /// </summary>
    public static async Task<int> PushAsync(string folder, string image, string? name, string? revision, string? precision, bool insecure, string? dockerConfig,
        TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(progress);
        var reference = ImageReference.Parse(image);
        if (reference.Digest is not null)
        {
            throw new ArgumentException($"image '{image}' has a digest; push to a tag");
        }

        if (!File.Exists(Path.Combine(folder, "config.json")))
        {
            throw new ArgumentException($"{folder} is not a Hugging Face model folder (it has no config.json)");
        }

        name ??= reference.Repository[(reference.Repository.LastIndexOf('/') + 1)..] is var last && last.StartsWith("kaito-", StringComparison.Ordinal) ? last["kaito-".Length..] : last;
        var extra = new List<(string Folder, string Prefix)>();
        string? exported = null;
        try
        {
            if (precision is not null)
            {
                if (!Precisions.Contains(precision))
                {
                    throw new ArgumentException($"precision '{precision}' is not one this exporter writes ({string.Join(", ", Precisions)})");
                }

                exported = Directory.CreateTempSubdirectory("kaito-export-").FullName;
                await progress.WriteLineAsync($"exporting {folder} to ONNX ({precision}, cpu)");
                await Task.Run(() => DecoderOnnxExporter.Export(folder, exported), cancellationToken);
                extra.Add((exported, ModelLayout.ConvertedFolder("cpu", precision)));
            }

            var info = new ModelImageInfo(name, revision, precision ?? TorchDType(folder), precision is null ? "huggingface" : $"huggingface+onnx-{precision}");
            var (manifest, config, files) = ModelImage.Pack(folder, info, extra);
            var credentials = DockerCredentials(dockerConfig, reference.Registry);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var registry = new RegistryClient(http, reference, credentials, insecure, RegistryAccess.Push, NullLogger.Instance);
            var blobs = new List<(OciDescriptor, Func<Stream>)> { (manifest.Config, () => new MemoryStream(config, writable: false)) };
            blobs.AddRange(files.Select(f => (f.Blob, (Func<Stream>)(() => File.OpenRead(f.Path)))));
            var digest = await registry.PushImageAsync(blobs, manifest.ToJson(), reference.Tag,
                new SynchronousProgress<(OciDescriptor Blob, bool Uploaded)>(p => progress.WriteLine(
                    $"{(p.Uploaded ? "pushed" : "exists")} {p.Blob.Title ?? "config"} {p.Blob.Digest} ({p.Blob.Size} bytes)")), cancellationToken);
            await output.WriteLineAsync($"{reference}@{digest}");
            return 0;
        }
        finally
        {
            if (exported is not null)
            {
                Directory.Delete(exported, recursive: true);
            }
        }
    }

    /// <summary>The image to push to: the reference given, or the preset's pinned image name in the registry.</summary>
    public static string Target(string? image, string? preset, string? registry)
    {
        if (image is not null)
        {
            return preset is null && registry is null ? image : throw new ArgumentException("give either an image-ref or --preset with --registry, not both");
        }

        if (preset is null || registry is null)
        {
            throw new ArgumentException("an image-ref is required (or --preset <name> --registry <registry>)");
        }

        return ModelCatalog.Default.TryResolve(preset, out var found)
            ? $"{registry.TrimEnd('/')}/{found.ImageRepository}:{found.ImageTag}"
            : throw new ArgumentException($"preset '{preset}' is not in the catalog (kubectl kaito model list)");
    }

    /// <summary>Writes the kaito-tiny preset's model (Kaito.Models' generator, fixed seed) into <paramref name="folder"/>.</summary>
    public static int WriteTiny(string folder, int? seed, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Kaito.Models.Tiny.TinyModel.WriteHuggingFace(folder, seed ?? Kaito.Models.Tiny.TinyModel.DefaultSeed);
        output.WriteLine(folder);
        return 0;
    }

    /// <summary>The catalog: name, image tag, weights, context, GPU memory, runtimes, tuning and image.</summary>
    public static int List(string format, string registry, TextWriter output)
    {
        string[] columns = ["Name", "Version", "Size GiB", "Context", "GPU Memory GiB", "Runtimes", "Tuning", "Image"];
        var rows = ModelCatalog.Default.Presets.Where(p => !p.Deprecated).Select(p => (IReadOnlyList<object?>)
        [
            p.Name, p.ImageTag, p.WeightsGiB, p.ContextLength, p.CpuOnly ? 0d : Math.Round(NodeEstimator.GpuMemoryGiB(p), 1), p.Runtimes,
            p.Tuning is { } tuning ? string.Join(",", tuning.Methods) : "-", $"{registry}/{p.ImageRepository}:{p.ImageTag}",
        ]).ToList();
        Output.Write(output, format, columns, rows, "ModelList");
        return 0;
    }

    /// <summary>The credentials for <paramref name="registry"/> in the given docker config, or in <c>$DOCKER_CONFIG/config.json</c> / <c>~/.docker/config.json</c>.</summary>
    internal static (string User, string Password)? DockerCredentials(string? dockerConfig, string registry)
    {
        var file = dockerConfig ?? Path.Combine(Environment.GetEnvironmentVariable("DOCKER_CONFIG")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker"), "config.json");
        if (dockerConfig is not null && !File.Exists(dockerConfig))
        {
            throw new ArgumentException($"docker config {dockerConfig} does not exist");
        }

        return File.Exists(file) ? DockerConfig.CredentialsFor(file, registry) : null;
    }

    private static string TorchDType(string folder)
    {
        try
        {
            var dtype = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))?["torch_dtype"]?.GetValue<string>();
            return dtype switch { "float32" => "fp32", "float16" => "fp16", "bfloat16" => "bf16", null => "unknown", _ => dtype };
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{folder}/config.json is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Reports on the pushing thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
