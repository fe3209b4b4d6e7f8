using System.Diagnostics;
using Kaito.Oci;

namespace Kaito.ModelPuller.HuggingFace;

/// <summary>
/// Restores a Hugging Face model repository into the weights folder (KAITO's download-at-runtime flow): the revision
/// resolved to its commit once, only the files the engine needs (safetensors and their index, the config, generation
/// and tokenizer files — not the .bin, .pth, .gguf or ONNX copies many repositories also carry), LFS files through the
/// node's blob cache (content-addressed by their SHA-256, so shared with model images of the same weights), each
/// resumed and verified. The token comes from <c>HF_TOKEN</c> (the workspace's modelAccessSecret) or a file.
/// </summary>
public sealed partial class HubPull(HttpClient http, ILogger<HubPull> logger)
{
    private static readonly string[] s_files =
    [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
        "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json",
    ];

    /// <summary>Whether the engine needs <paramref name="path"/> (top-level files only).</summary>
    public static bool Wanted(string path) =>
        !path.Contains('/', StringComparison.Ordinal)
        && (path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".safetensors.index.json", StringComparison.Ordinal) || s_files.Contains(path));

    public async Task<string> RunAsync(PullerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var repository = options.HfModel!.Trim('/');
        if (repository.Split('/') is not [{ Length: > 0 }, { Length: > 0 }] || repository.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{options.HfModel}' is not a Hugging Face model id (<owner>/<name>)");
        }

        var token = Token(options);
        var endpoint = new Uri(options.HfEndpoint.TrimEnd('/') + "/");
        var hub = new HubClient(http, endpoint, token, logger);
        var (commit, listed) = await hub.ResolveAsync(repository, options.Revision, cancellationToken);
        var files = listed.Where(f => Wanted(f.Path)).Select(f => (File: f, Path: ModelImage.FilePath(options.Target, f.Path))).ToList();
        if (!files.Any(f => f.File.Path.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"model {repository}@{commit} has no safetensors weights; the engine loads only those");
        }

        var total = files.Sum(f => f.File.Size);
        LogResolved(logger, repository, options.Revision, commit, files.Count, listed.Count, total, token is null ? "no token" : "a token");
        var source = $"hf:{repository}@{commit}";
        Directory.CreateDirectory(options.Target);
        if (await WeightsFolder.HoldsAsync(options.Target, source, files.Select(f => (f.Path, f.File.Size)), cancellationToken))
        {
            LogAlreadyThere(logger, options.Target, source);
            return commit;
        }

        var cache = WeightsFolder.NodeCache(options.Cache, logger);
        var clock = Stopwatch.StartNew();
        long fetched = 0, reused = 0;
        foreach (var (file, path) in files)
        {
            if (file.Sha256 is { } sha256 && cache is not null)
            {
                var blob = new OciDescriptor(ModelImage.FileMediaType, "sha256:" + sha256, file.Size);
                var (cached, downloaded) = await cache.GetOrAddAsync(blob, partial => DownloadAsync(hub, repository, commit, file, partial, cancellationToken), cancellationToken);
                WeightsFolder.Restore(cached, path);
                if (!downloaded)
                {
                    reused += file.Size;
                    LogReused(logger, file.Path, file.Size);
                    continue;
                }
            }
            else
            {
                var partial = path + ".partial";
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await DownloadAsync(hub, repository, commit, file, partial, cancellationToken);
                File.Move(partial, path, overwrite: true);
            }

            fetched += file.Size;
            LogFetched(logger, file.Path, file.Size, commit);
        }

        await WeightsFolder.MarkAsync(options.Target, source, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        LogDone(logger, repository, commit, options.Target, fetched, reused, seconds);
        return commit;
    }

    private async Task DownloadAsync(HubClient hub, string repository, string commit, HubFile file, string partial, CancellationToken cancellationToken)
    {
        var done = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (done > 0)
        {
            LogResuming(logger, file.Path, done, file.Size);
        }

        var last = Stopwatch.StartNew();
        await hub.DownloadAsync(repository, commit, file, partial, read =>
        {
            done += read;
            if (last.Elapsed >= TimeSpan.FromSeconds(5))
            {
                last.Restart();
                var percent = done * 100 / Math.Max(1, file.Size);
                LogProgress(logger, file.Path, percent, done, file.Size);
            }
        }, cancellationToken);
    }

    private static string? Token(PullerOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.HfTokenFile))
        {
            return File.ReadAllText(options.HfTokenFile).Trim() is { Length: > 0 } fromFile ? fromFile : null;
        }

        return Environment.GetEnvironmentVariable("HF_TOKEN")?.Trim() is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Repository} revision {Revision} is commit {Commit}: {Files} of {Listed} files, {Bytes} bytes ({Auth})")]
    private static partial void LogResolved(ILogger logger, string repository, string revision, string commit, int files, int listed, long bytes, string auth);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target} already holds {Source}; nothing to download")]
    private static partial void LogAlreadyThere(ILogger logger, string target, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded {File} ({Bytes} bytes) at {Commit}")]
    private static partial void LogFetched(ILogger logger, string file, long bytes, string commit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reused {File} ({Bytes} bytes) from the node cache")]
    private static partial void LogReused(ILogger logger, string file, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {File} at {Done} of {Size} bytes")]
    private static partial void LogResuming(ILogger logger, string file, long done, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File}: {Percent}% ({Done} of {Size} bytes)")]
    private static partial void LogProgress(ILogger logger, string file, long percent, long done, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Repository}@{Commit} is in {Target}: {Fetched} bytes downloaded, {Reused} bytes from the node cache, {Seconds:F1} s")]
    private static partial void LogDone(ILogger logger, string repository, string commit, string target, long fetched, long reused, double seconds);
}
