using System.Diagnostics;
using Kaito.Oci;

namespace Kaito.ModelPuller;

/// <summary>
/// Restores a model image's files into a folder: the manifest from the registry, each file layer from the node's blob
/// cache or — when the cache does not have it — downloaded into it (resumable, digest-verified), then linked into the
/// target (copied across file systems) read-only. A target that already holds the same manifest (the pod restarted)
/// is left as it is. Progress goes to the log: every file with its digest, its bytes and where it came from. With the
/// <c>image-data</c> layout the image is a container image instead (an adapter or a dataset, as KAITO pushes them) and
/// its <c>/data</c> folder is what lands in the target.
/// </summary>
public sealed partial class ModelPull(HttpClient http, IRegistryIdentity identity, ILogger<ModelPull> logger)
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromSeconds(5);

    public async Task<string> RunAsync(PullerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var image = ImageReference.Parse(options.Image);
        if (options.Layout is not (PullerOptions.ModelLayout or PullerOptions.ImageDataLayout))
        {
            throw new ArgumentException($"--layout '{options.Layout}' is neither {PullerOptions.ModelLayout} nor {PullerOptions.ImageDataLayout}");
        }

        var credentials = Credentials(options.DockerConfig, image.Registry);
        var insecure = string.Equals(options.InsecureRegistry, image.Registry, StringComparison.OrdinalIgnoreCase);
        var registry = new RegistryClient(http, image, credentials?.Credentials, insecure, RegistryAccess.Pull, logger,
            credentials is null ? identity.For(image, insecure) : null);
        var auth = credentials is { } c ? $"user {c.Credentials.User} from {c.File}" : identity.For(image, insecure) is not null ? "the Azure identity" : "no credentials";
        LogPulling(logger, image, auth);

        var (manifest, digest) = await registry.GetManifestAsync(cancellationToken);
        var data = string.Equals(options.Layout, PullerOptions.ImageDataLayout, StringComparison.Ordinal);
        var files = data
            ? [.. manifest.Layers.Where(ImageData.IsFileSystemLayer).Select(layer => (Layer: layer, Path: ""))]
            : manifest.Layers.Select(layer => (Layer: layer, Path: ModelImage.FilePath(options.Target, layer.Title
                ?? throw new InvalidDataException($"image {image} layer {layer.Digest} ({layer.MediaType}) has no {OciManifest.TitleAnnotation} annotation: not a model image")))).ToList();
        var total = files.Sum(f => f.Layer.Size);
        var model = manifest.Annotations.GetValueOrDefault(ModelImage.NameAnnotation) ?? "?";
        var precision = manifest.Annotations.GetValueOrDefault(ModelImage.PrecisionAnnotation) ?? "?";
        LogManifest(logger, image, digest, files.Count, total, model, precision);

        Directory.CreateDirectory(options.Target);
        if (await WeightsFolder.HoldsAsync(options.Target, digest, data ? [] : files.Select(f => (f.Path, f.Layer.Size)), cancellationToken))
        {
            LogAlreadyThere(logger, options.Target, digest);
            return digest;
        }

        var cache = WeightsFolder.NodeCache(options.Cache, logger);
        var privateCache = cache is null;
        cache ??= new BlobCache(Path.Combine(options.Target, ".kaito-blobs"));
        long fetched = 0, reused = 0, extracted = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (layer, path) in files)
        {
            var (blob, downloaded) = await cache.GetOrAddAsync(layer, partial => DownloadAsync(registry, layer, partial, cancellationToken), cancellationToken);
            if (data)
            {
                var (count, bytes) = ImageData.Extract(blob, layer, options.Target, ImageData.MaxBytes - extracted);
                extracted += bytes;
                LogExtracted(logger, count, bytes, layer.Digest);
            }
            else
            {
                WeightsFolder.Restore(blob, path);
            }

            if (downloaded)
            {
                fetched += layer.Size;
                LogFetched(logger, layer, image.Registry);
            }
            else
            {
                reused += layer.Size;
                LogReused(logger, layer);
            }
        }

        if (privateCache)
        {
            Directory.Delete(cache.Root, recursive: true);
        }

        if (data && extracted == 0 && !Directory.EnumerateFileSystemEntries(options.Target).Any(e => !Path.GetFileName(e).StartsWith('.')))
        {
            throw new InvalidDataException($"image {image} has no /data folder");
        }

        await WeightsFolder.MarkAsync(options.Target, digest, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        LogDone(logger, image, digest, options.Target, fetched, reused, seconds);
        return digest;
    }

    private async Task DownloadAsync(RegistryClient registry, OciDescriptor layer, string partial, CancellationToken cancellationToken)
    {
        var done = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (done > 0)
        {
            LogResuming(logger, layer.Title!, layer.Digest, done, layer.Size);
        }

        var last = Stopwatch.StartNew();
        await registry.DownloadBlobAsync(layer, partial, read =>
        {
            done += read;
            if (last.Elapsed >= s_progressInterval)
            {
                last.Restart();
                var percent = done * 100 / Math.Max(1, layer.Size);
                LogProgress(logger, layer.Title!, percent, done, layer.Size);
            }
        }, cancellationToken);
    }

    /// <summary>The first credentials for <paramref name="registry"/> among the docker configs (files, or folders of mounted secrets).</summary>
    internal static (string File, (string User, string Password) Credentials)? Credentials(string? configs, string registry)
    {
        foreach (var entry in (configs ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var files = Directory.Exists(entry)
                ? Directory.EnumerateFiles(entry, "config.json", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 }).Order(StringComparer.Ordinal)
                    .Concat(Directory.EnumerateFiles(entry, ".dockerconfigjson", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 }).Order(StringComparer.Ordinal))
                : [entry];
            foreach (var file in files)
            {
                if (DockerConfig.CredentialsFor(file, registry) is { } credentials)
                {
                    return (file, credentials);
                }
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling model image {Image} ({Auth})")]
    private static partial void LogPulling(ILogger logger, ImageReference image, string auth);

    [LoggerMessage(Level = LogLevel.Information, Message = "Manifest of {Image}: {Digest}, {Files} files, {Bytes} bytes (model {Model}, precision {Precision})")]
    private static partial void LogManifest(ILogger logger, ImageReference image, string digest, int files, long bytes, string model, string precision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Extracted {Files} files ({Bytes} bytes) of /data from layer {Digest}")]
    private static partial void LogExtracted(ILogger logger, int files, long bytes, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target} already holds {Digest}; nothing to pull")]
    private static partial void LogAlreadyThere(ILogger logger, string target, string digest);

    private static void LogFetched(ILogger logger, OciDescriptor layer, string registry) => LogFetched(logger, layer.Title!, layer.Digest, layer.Size, registry);

    private static void LogReused(ILogger logger, OciDescriptor layer) => LogReused(logger, layer.Title!, layer.Digest, layer.Size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled {File} {Digest} ({Bytes} bytes) from {Registry}")]
    private static partial void LogFetched(ILogger logger, string file, string digest, long bytes, string registry);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reused {File} {Digest} ({Bytes} bytes) from the node cache")]
    private static partial void LogReused(ILogger logger, string file, string digest, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {File} {Digest} at {Done} of {Size} bytes")]
    private static partial void LogResuming(ILogger logger, string file, string digest, long done, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File}: {Percent}% ({Done} of {Size} bytes)")]
    private static partial void LogProgress(ILogger logger, string file, long percent, long done, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Image} ({Digest}) is in {Target}: {Fetched} bytes pulled, {Reused} bytes from the node cache, {Seconds:F1} s")]
    private static partial void LogDone(ILogger logger, ImageReference image, string digest, string target, long fetched, long reused, double seconds);
}
