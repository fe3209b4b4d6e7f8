using System.Net;
using System.Net.Http.Headers;
using Kaito.ServiceDefaults.Resilience;
using Microsoft.Extensions.Logging;

namespace Kaito.Oci;

/// <summary>
/// What the registry and Hub clients share: requests retried with back-off (connection failures, timeouts, 5xx, 429),
/// bounded reads of small answers, and downloads into a partial file that continue with a range request from what it
/// holds after an interruption.
/// </summary>
public static partial class HttpTransfers
{
    public const int Attempts = 4;

    /// <summary>
    /// Sends the request <paramref name="create"/> makes, up to <see cref="Attempts"/> times. <paramref name="again"/> sees
    /// each answer and may ask for one more try that does not count (an authentication challenge it has just answered).
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> create, HttpCompletionOption completion, string peer, ILogger logger,
        Func<HttpResponseMessage, Task<bool>>? again, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(create);
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        for (var attempt = 1; ; attempt++)
        {
            using var request = create();
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, completion, cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && IsTransient(e, cancellationToken))
            {
                LogRetry(logger, peer, attempt, e.Message);
                await Task.Delay(backoff.Next(), cancellationToken);
                continue;
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                throw new RegistryException(RegistryFailure.Unreachable, $"{peer} is unreachable: {e.Message}", e);
            }

            if (again is not null && await again(response))
            {
                response.Dispose();
                attempt--;
                continue;
            }

            if (((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) && attempt < Attempts)
            {
                LogRetry(logger, peer, attempt, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                response.Dispose();
                await Task.Delay(backoff.Next(), cancellationToken);
                continue;
            }

            return response;
        }
    }

    /// <summary>
    /// Fills <paramref name="partialPath"/> with the <paramref name="size"/> bytes <paramref name="uri"/> serves, from
    /// what the file already holds (an earlier pull, or a connection cut now: up to <see cref="Attempts"/> tries with
    /// back-off); a server that ignores the range starts the file over. The caller verifies the result. <c>send</c>
    /// sends a request as the caller's other requests are (authenticated, retried); <c>failed</c> throws the caller's
    /// error for an answer that is neither 200 nor 206.
    /// </summary>
    public static async Task DownloadAsync(Uri uri, string partialPath, long size, string what, string peer,
        Func<Func<HttpRequestMessage>, Task<HttpResponseMessage>> send, Func<HttpResponseMessage, Task> failed, Action<long>? progress, ILogger logger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(failed);
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        for (var attempt = 1; ; attempt++)
        {
            await using var file = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 20);
            var offset = Math.Min(file.Length, size);
            file.SetLength(offset);
            file.Position = offset;
            if (offset == size)
            {
                return;
            }

            try
            {
                using var response = await send(() =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, uri);
                    if (offset > 0)
                    {
                        request.Headers.Range = new RangeHeaderValue(offset, null);
                    }

                    return request;
                });
                if (offset > 0 && response.StatusCode == HttpStatusCode.OK)
                {
                    file.SetLength(0);
                    file.Position = 0;
                }
                else if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.PartialContent))
                {
                    await failed(response);
                }

                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    if (file.Position + read > size)
                    {
                        throw new RegistryException(RegistryFailure.DigestMismatch, $"{what} from {peer} is longer than the {size} bytes it is listed with");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    progress?.Invoke(read);
                }

                if (file.Position < size)
                {
                    throw new IOException($"the connection ended after {file.Position} of {size} bytes");
                }

                return;
            }
            catch (Exception e) when (attempt < Attempts && IsTransient(e, cancellationToken))
            {
                LogResume(logger, what, file.Position, size, e.Message);
                await file.FlushAsync(cancellationToken);
                await Task.Delay(backoff.Next(), cancellationToken);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                throw new RegistryException(RegistryFailure.Unreachable, $"downloading {what} from {peer} failed {Attempts} times: {e.Message}", e);
            }
        }
    }

    /// <summary>At most <paramref name="limit"/> bytes of an answer (a manifest, a token, a listing, an error).</summary>
    /// <exception cref="InvalidDataException">The answer is longer.</exception>
    public static async Task<byte[]> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new InvalidDataException($"the answer is larger than {limit} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>A failure worth another try: the connection, a timeout (not the caller's cancellation), a cut body.</summary>
    public static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException || (e is IOException and not RegistryException) || e is RegistryException { Failure: RegistryFailure.Unreachable }
        || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: attempt {Attempt} failed ({Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, string peer, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What}: download interrupted at {Done} of {Size} bytes ({Reason}); resuming")]
    private static partial void LogResume(ILogger logger, string what, long done, long size, string reason);
}
