namespace Kaito.Tuner.Data;

/// <summary>
/// Downloads <c>tuning.input.urls</c> into the data folder with KAITO's rules: three tries two seconds apart, and a
/// download counts only with HTTP 200 and a non-empty body. The file is named after the URL's path without its query
/// (…/train-00000.parquet?download=true → train-00000.parquet) and appears only when complete.
/// </summary>
public sealed partial class DatasetDownloader(HttpClient http, ILogger logger, TimeSpan? retryDelay = null)
{
    private const int Attempts = 3;
    private readonly TimeSpan _retryDelay = retryDelay ?? TimeSpan.FromSeconds(2);

    public async Task<IReadOnlyList<string>> DownloadAsync(IReadOnlyList<string> urls, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urls);
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        for (var i = 0; i < urls.Count; i++)
        {
            if (!Uri.TryCreate(urls[i], UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new InvalidDataException($"input URL '{urls[i]}' is not an http(s) URL");
            }

            var name = Uri.UnescapeDataString(uri.Segments.LastOrDefault()?.Trim('/') ?? "");
            var path = Path.Combine(directory, string.IsNullOrWhiteSpace(name) ? $"dataset-{i}" : name);
            await DownloadOneAsync(uri, path, cancellationToken);
            files.Add(path);
        }

        return files;
    }

    private async Task DownloadOneAsync(Uri uri, string path, CancellationToken cancellationToken)
    {
        var reason = "";
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (response.StatusCode == System.Net.HttpStatusCode.OK)
                {
                    var temporary = path + ".download";
                    await using (var file = File.Create(temporary))
                    {
                        await response.Content.CopyToAsync(file, cancellationToken);
                    }

                    var length = new FileInfo(temporary).Length;
                    if (length > 0)
                    {
                        File.Move(temporary, path, overwrite: true);
                        LogDownloaded(logger, uri, path, length);
                        return;
                    }

                    File.Delete(temporary);
                    reason = "the response was empty";
                }
                else
                {
                    reason = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                reason = e.Message;
            }

            LogAttemptFailed(logger, uri, attempt, reason);
            if (attempt < Attempts)
            {
                await Task.Delay(_retryDelay, cancellationToken);
            }
        }

        throw new InvalidDataException($"downloading {uri} failed after {Attempts} attempts: {reason}");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded {Url} to {Path} ({Bytes} bytes)")]
    private static partial void LogDownloaded(ILogger logger, Uri url, string path, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Downloading {Url}: attempt {Attempt} failed ({Reason})")]
    private static partial void LogAttemptFailed(ILogger logger, Uri url, int attempt, string reason);
}
