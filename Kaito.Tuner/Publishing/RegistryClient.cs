using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.ServiceDefaults.Resilience;

namespace Kaito.Tuner.Publishing;

/// <summary>
/// Pushes an <see cref="AdapterImage"/> with the OCI distribution API: blobs (skipped when present) by monolithic
/// upload, then the manifest. Authenticates with the docker config's credentials for the registry — Basic, or a Bearer
/// token from the realm the 401 challenge names — retries 5xx and timeouts three times with backoff, and speaks plain
/// HTTP only to the registry marked insecure. Credentials go only to the registry's own origin and to a token realm
/// that is https (or the registry itself): a challenge naming another plain-HTTP host, or an upload Location on another
/// host, gets no credentials. Every failure is an <see cref="IOException"/> naming the registry; a refused credential
/// names the user.
/// </summary>
public sealed partial class RegistryClient(HttpClient http, ILogger logger)
{
    private const int Attempts = 3;
    private const int MaxTokenResponseBytes = 1024 * 1024;
    private AuthenticationHeaderValue? _authorization;
    private (string User, string Password)? _credentials;
    private Uri _origin = null!;

    public async Task<string> PushAsync(AdapterImage image, ImageReference reference, string? dockerConfig, string? insecureRegistry,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(reference);
        _credentials = dockerConfig is null ? null : DockerConfig.CredentialsFor(dockerConfig, reference.Registry);
        var scheme = string.Equals(insecureRegistry, reference.Registry, StringComparison.OrdinalIgnoreCase) ? "http" : "https";
        var root = new Uri($"{scheme}://{reference.Registry}/v2/{reference.Repository}/");
        _origin = new Uri(root.GetLeftPart(UriPartial.Authority));

        await PushBlobAsync(root, image.Config, reference, cancellationToken);
        await PushBlobAsync(root, image.Layer, reference, cancellationToken);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, new Uri(root, $"manifests/{reference.Tag}"))
        {
            Content = new ByteArrayContent(image.Manifest) { Headers = { ContentType = new MediaTypeHeaderValue(AdapterImage.ManifestMediaType) } },
        }, reference, cancellationToken);
        await EnsureAsync(response, HttpStatusCode.Created, $"PUT manifest {reference}", cancellationToken);
        return AdapterImage.Digest(image.Manifest);
    }

    private async Task PushBlobAsync(Uri root, byte[] blob, ImageReference reference, CancellationToken cancellationToken)
    {
        var digest = AdapterImage.Digest(blob);
        using (var head = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, new Uri(root, $"blobs/{digest}")), reference, cancellationToken))
        {
            if (head.StatusCode == HttpStatusCode.OK)
            {
                LogBlobExists(logger, digest);
                return;
            }
        }

        using var start = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, new Uri(root, "blobs/uploads/")), reference, cancellationToken);
        await EnsureAsync(start, HttpStatusCode.Accepted, $"start upload to {reference}", cancellationToken);
        var location = start.Headers.Location ?? throw new IOException($"registry {reference.Registry} started an upload without a Location");
        var upload = location.IsAbsoluteUri ? location : new Uri(root, location);
        var separator = upload.Query.Length > 0 ? "&" : "?";
        var target = new Uri($"{upload}{separator}digest={Uri.EscapeDataString(digest)}");
        using var put = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, target)
        {
            Content = new ByteArrayContent(blob) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
        }, reference, cancellationToken);
        await EnsureAsync(put, HttpStatusCode.Created, $"upload blob {digest} to {reference}", cancellationToken);
        LogBlobPushed(logger, digest, blob.Length);
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, ImageReference reference, CancellationToken cancellationToken)
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        for (var attempt = 1; ; attempt++)
        {
            using var request = create();
            // The registry's credentials (or its token) go to the registry's own origin only, never to an upload
            // Location on another host.
            request.Headers.Authorization = SameOrigin(request.RequestUri!) ? _authorization : null;
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested)))
            {
                LogRetry(logger, reference.Registry, attempt, e.Message);
                await Task.Delay(backoff.Next(), cancellationToken);
                continue;
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw new IOException($"registry {reference.Registry} is unreachable: {e.Message}", e);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && _authorization is null && response.Headers.WwwAuthenticate.FirstOrDefault() is { } challenge)
            {
                response.Dispose();
                _authorization = await AuthenticateAsync(challenge, reference, cancellationToken);
                attempt--;
                continue;
            }

            if ((int)response.StatusCode >= 500 && attempt < Attempts)
            {
                LogRetry(logger, reference.Registry, attempt, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                response.Dispose();
                await Task.Delay(backoff.Next(), cancellationToken);
                continue;
            }

            return response;
        }
    }

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(AuthenticationHeaderValue challenge, ImageReference reference, CancellationToken cancellationToken)
    {
        if (_credentials is not { } credentials)
        {
            throw new IOException($"registry {reference.Registry} requires authentication and the docker config has no credentials for it");
        }

        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}")));
        if (string.Equals(challenge.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic;
        }

        if (!string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"registry {reference.Registry} asks for {challenge.Scheme} authentication, which the tuner does not speak");
        }

        var parameters = ParseChallenge(challenge.Parameter ?? "");
        var realmText = parameters.GetValueOrDefault("realm") ?? throw new IOException($"registry {reference.Registry} sent a Bearer challenge without a realm");
        if (!Uri.TryCreate(realmText, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw new IOException($"registry {reference.Registry} names token realm '{realmText}', which is not an http(s) URL");
        }

        if (realm.Scheme != Uri.UriSchemeHttps && !SameOrigin(realm))
        {
            throw new IOException(
                $"registry {reference.Registry} names token realm {realm.GetLeftPart(UriPartial.Path)}, which is neither https nor the registry itself; " +
                $"the credentials of user {credentials.User} are not sent there");
        }

        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString($"repository:{reference.Repository}:pull,push"));
        var separator = realm.Query.Length > 1 ? "&" : "?";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{realm}{separator}{string.Join('&', query)}");
        request.Headers.Authorization = basic;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new IOException($"registry {reference.Registry} refused the credentials of user {credentials.User}: token endpoint answered {(int)response.StatusCode}");
            }

            var body = JsonNode.Parse(await ReadLimitedAsync(response.Content, MaxTokenResponseBytes, cancellationToken));
            var token = body?["token"] is JsonValue t && t.TryGetValue<string>(out var value) ? value
                : body?["access_token"] is JsonValue a && a.TryGetValue<string>(out var access) ? access
                : throw new IOException($"registry {reference.Registry}'s token endpoint returned no token");
            return new AuthenticationHeaderValue("Bearer", token);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new IOException($"registry {reference.Registry}'s token endpoint {realm.GetLeftPart(UriPartial.Path)} failed: {e.Message}", e);
        }
    }

    private bool SameOrigin(Uri uri) => Uri.Compare(uri, _origin, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static async Task<byte[]> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new IOException($"the answer is larger than {limit} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        string detail;
        try
        {
            detail = System.Text.Encoding.UTF8.GetString(await ReadLimitedAsync(response.Content, 4096, cancellationToken)).Trim();
        }
        catch (IOException)
        {
            detail = "(a long answer)";
        }

        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new IOException($"registry refused the credentials{(_credentials is { } c ? $" of user {c.User}" : "")} to {what}: 401 {detail}");
        }

        throw new IOException($"{what} failed: {(int)response.StatusCode} {response.ReasonPhrase} {detail}".Trim());
    }

    private static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Text.RegularExpressions.Match match in ChallengePart().Matches(parameter))
        {
            result[match.Groups[1].Value] = match.Groups[2].Value;
        }

        return result;
    }

    [System.Text.RegularExpressions.GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex ChallengePart();

    [LoggerMessage(Level = LogLevel.Information, Message = "Pushed blob {Digest} ({Bytes} bytes)")]
    private static partial void LogBlobPushed(ILogger logger, string digest, int bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} already in the registry")]
    private static partial void LogBlobExists(ILogger logger, string digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry {Registry}: attempt {Attempt} failed ({Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, string registry, int attempt, string reason);
}
