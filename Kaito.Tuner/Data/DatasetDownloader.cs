using System.Net;
using Kaito.Api.Networking;
using Kaito.Api.Validation;
using Kaito.ServiceDefaults.Resilience;

namespace Kaito.Tuner.Data;

/// <summary>
/// Downloads <c>tuning.input.urls</c> into the data folder with KAITO's rules (presets/workspace/tuning's data
/// downloader): three tries, and a download counts only with HTTP 200 and a non-empty body. The file is named after the
/// URL's last path segment without its query (…/train-00000.parquet?download=true → train-00000.parquet), kept only
/// when it is a plain file name, and appears only when complete. Beyond KAITO: every hop of a redirect is checked
/// against the URL rule and every connection against the <see cref="OutboundPolicy"/>; a download is bounded in size
/// and time; retries back off; and URLs appear in logs and errors without their query (SAS tokens live there).
/// </summary>
public sealed partial class DatasetDownloader(HttpClient http, OutboundPolicy policy, ILogger logger, DownloadLimits limits)
{
    private const int Attempts = 3;
    private const int MaxRedirects = 5;

    public async Task<IReadOnlyList<string>> DownloadAsync(IReadOnlyList<string> urls, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urls);
        Directory.CreateDirectory(directory);
        var root = Path.GetFullPath(directory);
        var files = new List<string>();
        for (var i = 0; i < urls.Count; i++)
        {
            if (!Uri.TryCreate(urls[i], UriKind.Absolute, out var uri))
            {
                throw new InvalidDataException($"input URL '{DataSourceUrls.Redact(urls[i])}' is not an absolute http(s) URL");
            }

            if (policy.Problem(uri) is { } problem)
            {
                throw new InvalidDataException($"input URL refused: {problem}");
            }

            var path = Path.Combine(root, FileName(uri, i));
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"input URL {DataSourceUrls.Redact(uri)} names a file outside the data folder");
            }

            await DownloadOneAsync(uri, path, cancellationToken);
            files.Add(path);
        }

        return files;
    }

    /// <summary>
    /// The URL's last path segment, unescaped, when it is a plain file name (letters, digits, <c>. _ - +</c>, not starting
    /// with a dot); otherwise <c>dataset-N</c> with the segment's extension when that is plain. Never a path.
    /// </summary>
    public static string FileName(Uri uri, int index)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var segment = Uri.UnescapeDataString(uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "");
        if (IsPlain(segment) && segment.Length <= 200)
        {
            return segment;
        }

        var extension = Path.GetExtension(segment.Split('/', '\\').Last());
        return $"dataset-{index}{(IsPlain(extension.TrimStart('.')) && extension.Length <= 16 ? extension : "")}";

        static bool IsPlain(string name) =>
            name.Length > 0 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+');
    }

    private async Task DownloadOneAsync(Uri uri, string path, CancellationToken cancellationToken)
    {
        var shown = DataSourceUrls.Redact(uri);
        var reason = "";
        var backoff = new ExponentialBackoff(limits.RetryDelay, limits.RetryDelay * 4);
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limits.Timeout);
            try
            {
                var length = await FetchAsync(uri, path, deadline.Token);
                if (length > 0)
                {
                    LogDownloaded(logger, shown, path, length);
                    return;
                }

                reason = "the response was empty";
            }
            catch (RefusedDownloadException e)
            {
                // A refusal is the same on every try.
                throw new InvalidDataException($"downloading {shown} was refused: {e.Message}", e);
            }
            catch (HttpRequestException e) when (e.InnerException is RefusedConnectionException refused)
            {
                throw new InvalidDataException($"downloading {shown} was refused: {refused.Message}", e);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                reason = $"it did not finish within {limits.Timeout.TotalMinutes:0.#} minutes";
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                reason = e.Message;
            }

            LogAttemptFailed(logger, shown, attempt, reason);
            if (attempt < Attempts)
            {
                await Task.Delay(backoff.Next(), cancellationToken);
            }
        }

        throw new InvalidDataException($"downloading {shown} failed after {Attempts} attempts: {reason}");
    }

    /// <summary>GETs the URL, following up to five redirects each checked as the first URL was; returns the bytes written.</summary>
    private async Task<long> FetchAsync(Uri uri, string path, CancellationToken cancellationToken)
    {
        var current = uri;
        for (var hop = 0; ; hop++)
        {
            using var response = await http.GetAsync(current, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                var (from, to) = (DataSourceUrls.Redact(current), DataSourceUrls.Redact(next));
                if (hop >= MaxRedirects)
                {
                    throw new RefusedDownloadException($"more than {MaxRedirects} redirects");
                }

                if (policy.Problem(next) is { } problem)
                {
                    throw new RefusedDownloadException($"it redirects to {to}: {problem}");
                }

                if (current.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps && !policy.IsExempt(next))
                {
                    throw new RefusedDownloadException($"it redirects from https to {to}");
                }

                LogRedirected(logger, from, to);
                current = next;
                continue;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > limits.MaxBytes)
            {
                throw new RefusedDownloadException($"it is {response.Content.Headers.ContentLength} bytes; at most {limits.MaxBytes} bytes are accepted (--max-download-bytes)");
            }

            var temporary = path + ".download";
            long written = 0;
            await using (var file = File.Create(temporary))
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    written += read;
                    if (written > limits.MaxBytes)
                    {
                        file.Close();
                        File.Delete(temporary);
                        throw new RefusedDownloadException($"it is larger than that; at most {limits.MaxBytes} bytes are accepted (--max-download-bytes)");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }

            if (written == 0)
            {
                File.Delete(temporary);
                return 0;
            }

            File.Move(temporary, path, overwrite: true);
            return written;
        }
    }

    private sealed class RefusedDownloadException(string message) : Exception(message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded {Url} to {Path} ({Bytes} bytes)")]
    private static partial void LogDownloaded(ILogger logger, string url, string path, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Url} redirects to {Location}")]
    private static partial void LogRedirected(ILogger logger, string url, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Downloading {Url}: attempt {Attempt} failed ({Reason})")]
    private static partial void LogAttemptFailed(ILogger logger, string url, int attempt, string reason);
}

/// <summary>How large and how long one dataset download may be, and the first delay between its tries.</summary>
public sealed record DownloadLimits(long MaxBytes, TimeSpan Timeout, TimeSpan RetryDelay);
