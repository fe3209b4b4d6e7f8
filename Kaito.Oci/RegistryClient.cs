using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Kaito.Oci;

/// <summary>Whether a client only reads a repository or also writes it (the scope of the Bearer token it asks for).</summary>
public enum RegistryAccess
{
    Pull,
    Push,
}

/// <summary>What went wrong talking to a registry, for callers that surface it (the puller's termination message).</summary>
public enum RegistryFailure
{
    Other,
    NotFound,
    Unauthorized,
    Unreachable,
    DigestMismatch,
}

/// <summary>A registry operation that failed; the message names the registry and what was asked.</summary>
public sealed class RegistryException(RegistryFailure failure, string message, Exception? inner = null) : IOException(message, inner)
{
    public RegistryFailure Failure { get; } = failure;
}

/// <summary>
/// One repository of an OCI registry over the distribution API: manifests by tag or digest, blobs pushed (skipped when
/// present, monolithic upload) and pulled (resumed with Range after an interruption, verified against their digest).
/// Authenticates with the docker config's credentials — Basic, or a Bearer token from the realm the 401 challenge names,
/// anonymously when there are none, as public registries expect for pulls — retries 5xx, timeouts and cut connections
/// with backoff, and speaks plain HTTP only to a registry marked insecure or on loopback. Credentials go only to the
/// registry's own origin and to a token realm that is https (or the registry itself): a challenge naming another
/// plain-HTTP host, or an upload Location or blob redirect on another host, gets no credentials. Every failure is a
/// <see cref="RegistryException"/> naming the registry; a refused credential names the user.
/// </summary>
public sealed partial class RegistryClient
{
    private const int MaxTokenResponseBytes = 1024 * 1024;
    private readonly HttpClient _http;
    private readonly ImageReference _reference;
    private (string User, string Password)? _credentials;
    private readonly Func<CancellationToken, Task<(string User, string Password)?>>? _credentialSource;
    private readonly RegistryAccess _access;
    private readonly ILogger _logger;
    private readonly Uri _root;
    private readonly Uri _origin;
    private AuthenticationHeaderValue? _authorization;

    /// <param name="http">A client whose handler may follow redirects (it drops Authorization on them).</param>
    /// <param name="reference">The repository (its tag or digest is used by <see cref="GetManifestAsync"/>).</param>
    /// <param name="credentials">User and password (or token) for the registry, or null for anonymous access.</param>
    /// <param name="plainHttp">Speak HTTP instead of HTTPS (an insecure registry); loopback registries always do.</param>
    /// <param name="access">The token scope asked for: pull, or pull and push.</param>
    /// <param name="logger">Where retries, resumes and pushed blobs are logged.</param>
    /// <param name="credentialSource">
    /// Asked once, when the registry wants credentials and none were given: an identity's (ACR's token exchange for the
    /// node's or the workload's Azure identity), or null when it has none.
    /// </param>
    public RegistryClient(HttpClient http, ImageReference reference, (string User, string Password)? credentials, bool plainHttp, RegistryAccess access, ILogger logger,
        Func<CancellationToken, Task<(string User, string Password)?>>? credentialSource = null)
    {
        _credentialSource = credentialSource;
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(reference);
        _http = http;
        _reference = reference;
        _credentials = credentials;
        _access = access;
        _logger = logger;
        var scheme = plainHttp || reference.IsLoopbackRegistry ? "http" : "https";
        _root = new Uri($"{scheme}://{reference.Registry}/v2/{reference.Repository}/");
        _origin = new Uri(_root.GetLeftPart(UriPartial.Authority));
    }

    public string Registry => _reference.Registry;

    /// <summary>The manifest the reference names (an index resolved to its linux/amd64 entry), and its digest.</summary>
    public async Task<(OciManifest Manifest, string Digest)> GetManifestAsync(CancellationToken cancellationToken)
    {
        var (bytes, digest, mediaType) = await GetManifestBytesAsync(_reference.ManifestReference, cancellationToken);
        if (mediaType is OciManifest.IndexMediaType or OciManifest.DockerListMediaType)
        {
            var chosen = OciManifest.SelectFromIndex(bytes, _reference.ToString())
                ?? throw new RegistryException(RegistryFailure.NotFound, $"image {_reference} is an index with no linux/amd64 manifest");
            (bytes, digest, _) = await GetManifestBytesAsync(chosen, cancellationToken);
        }

        return (OciManifest.Parse(bytes, _reference.ToString()), digest);
    }

    private async Task<(byte[] Bytes, string Digest, string? MediaType)> GetManifestBytesAsync(string reference, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_root, $"manifests/{reference}"));
            foreach (var type in OciManifest.AcceptedMediaTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            return request;
        }, cancellationToken);
        await EnsureAsync(response, HttpStatusCode.OK, $"manifest {_reference.Repository}:{reference}", cancellationToken);
        var bytes = await HttpTransfers.ReadLimitedAsync(response.Content, OciManifest.MaxBytes, cancellationToken);
        var digest = Digests.Of(bytes);
        if (Digests.IsValid(reference) && digest != reference)
        {
            throw new RegistryException(RegistryFailure.DigestMismatch, $"registry {Registry} answered manifest {reference} with content whose digest is {digest}");
        }

        return (bytes, digest, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Pushes <paramref name="blobs"/> (each opened when needed; skipped when the registry has it) and then the manifest under <paramref name="tag"/>; returns the manifest's digest.</summary>
    public async Task<string> PushImageAsync(IEnumerable<(OciDescriptor Blob, Func<Stream> Open)> blobs, byte[] manifest, string tag, IProgress<(OciDescriptor Blob, bool Uploaded)>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var (blob, open) in blobs)
        {
            var uploaded = await PushBlobAsync(blob, open, cancellationToken);
            progress?.Report((blob, uploaded));
        }

        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, new Uri(_root, $"manifests/{tag}"))
        {
            Content = new ByteArrayContent(manifest) { Headers = { ContentType = new MediaTypeHeaderValue(OciManifest.MediaType) } },
        }, cancellationToken);
        await EnsureAsync(response, HttpStatusCode.Created, $"putting manifest {_reference.Repository}:{tag}", cancellationToken);
        return Digests.Of(manifest);
    }

    /// <summary>Uploads one blob unless the registry has it; true when it was uploaded.</summary>
    public async Task<bool> PushBlobAsync(OciDescriptor blob, Func<Stream> open, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(open);
        using (var head = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, new Uri(_root, $"blobs/{blob.Digest}")), cancellationToken))
        {
            if (head.StatusCode == HttpStatusCode.OK)
            {
                LogBlobExists(_logger, blob.Digest);
                return false;
            }
        }

        using var start = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, new Uri(_root, "blobs/uploads/")), cancellationToken);
        await EnsureAsync(start, HttpStatusCode.Accepted, $"start upload to {_reference}", cancellationToken);
        var location = start.Headers.Location ?? throw new RegistryException(RegistryFailure.Other, $"registry {Registry} started an upload without a Location");
        var upload = location.IsAbsoluteUri ? location : new Uri(_root, location);
        var separator = upload.Query.Length > 0 ? "&" : "?";
        var target = new Uri($"{upload}{separator}digest={Uri.EscapeDataString(blob.Digest)}");
        using var put = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, target)
        {
            Content = new StreamContent(open()) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream"), ContentLength = blob.Size } },
        }, cancellationToken);
        await EnsureAsync(put, HttpStatusCode.Created, $"upload blob {blob.Digest} to {_reference}", cancellationToken);
        LogBlobPushed(_logger, blob.Digest, blob.Size);
        return true;
    }

    /// <summary>
    /// Downloads <paramref name="blob"/> into <paramref name="partialPath"/>, continuing from what the file already
    /// holds (a pull interrupted before, or a connection cut now), and checks the whole file against the digest.
    /// </summary>
    /// <exception cref="RegistryException">With <see cref="RegistryFailure.DigestMismatch"/> when the bytes are not the blob (the file is deleted).</exception>
    public async Task DownloadBlobAsync(OciDescriptor blob, string partialPath, Action<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        await HttpTransfers.DownloadAsync(new Uri(_root, $"blobs/{blob.Digest}"), partialPath, blob.Size, $"blob {blob.Digest}", $"registry {Registry}",
            create => SendAsync(create, cancellationToken, HttpCompletionOption.ResponseHeadersRead),
            response => EnsureAsync(response, HttpStatusCode.OK, $"blob {blob.Digest} of {_reference.Repository}", cancellationToken), progress, _logger, cancellationToken);
        var actual = await Task.Run(() => Digests.OfFile(partialPath), cancellationToken);
        if (actual != blob.Digest)
        {
            File.Delete(partialPath);
            throw new RegistryException(RegistryFailure.DigestMismatch, $"blob {blob.Digest} from {Registry} has the wrong content (digest {actual}); refused and deleted");
        }
    }

    private Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead) =>
        HttpTransfers.SendAsync(_http, () =>
        {
            var request = create();
            // The registry's credentials (or its token) go to the registry's own origin only, never to an upload
            // Location on another host (HttpClient drops the header itself on redirects).
            request.Headers.Authorization = SameOrigin(request.RequestUri!) ? _authorization : null;
            return request;
        }, completion, $"registry {Registry}", _logger, async response =>
        {
            if (response.StatusCode != HttpStatusCode.Unauthorized || _authorization is not null || response.Headers.WwwAuthenticate.FirstOrDefault() is not { } challenge)
            {
                return false;
            }

            _authorization = await AuthenticateAsync(challenge, cancellationToken);
            return true;
        }, cancellationToken);

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(AuthenticationHeaderValue challenge, CancellationToken cancellationToken)
    {
        if (_credentials is null && _credentialSource is not null)
        {
            _credentials = await _credentialSource(cancellationToken);
        }

        var basic = _credentials is { } c ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}"))) : null;
        if (string.Equals(challenge.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic ?? throw new RegistryException(RegistryFailure.Unauthorized, $"registry {Registry} requires authentication and there are no credentials for it");
        }

        if (!string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new RegistryException(RegistryFailure.Unauthorized, $"registry {Registry} asks for {challenge.Scheme} authentication, which is not spoken here");
        }

        var parameters = ParseChallenge(challenge.Parameter ?? "");
        var realmText = parameters.GetValueOrDefault("realm") ?? throw new RegistryException(RegistryFailure.Unauthorized, $"registry {Registry} sent a Bearer challenge without a realm");
        if (!Uri.TryCreate(realmText, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw new RegistryException(RegistryFailure.Unauthorized, $"registry {Registry} names token realm '{realmText}', which is not an http(s) URL");
        }

        if (basic is not null && realm.Scheme != Uri.UriSchemeHttps && !SameOrigin(realm))
        {
            throw new RegistryException(RegistryFailure.Unauthorized,
                $"registry {Registry} names token realm {realm.GetLeftPart(UriPartial.Path)}, which is neither https nor the registry itself; " +
                $"the credentials of user {_credentials!.Value.User} are not sent there");
        }

        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString($"repository:{_reference.Repository}:{(_access == RegistryAccess.Push ? "pull,push" : "pull")}"));
        var separator = realm.Query.Length > 1 ? "&" : "?";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{realm}{separator}{string.Join('&', query)}");
        request.Headers.Authorization = basic;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException(RegistryFailure.Unauthorized, _credentials is { } refused
                    ? $"registry {Registry} refused the credentials of user {refused.User}: token endpoint answered {(int)response.StatusCode}"
                    : $"registry {Registry} requires credentials (anonymous token refused: {(int)response.StatusCode}); add an image pull secret");
            }

            var body = JsonNode.Parse(await HttpTransfers.ReadLimitedAsync(response.Content, MaxTokenResponseBytes, cancellationToken));
            var token = body?["token"] is JsonValue t && t.TryGetValue<string>(out var value) ? value
                : body?["access_token"] is JsonValue a && a.TryGetValue<string>(out var access) ? access
                : throw new RegistryException(RegistryFailure.Unauthorized, $"registry {Registry}'s token endpoint returned no token");
            return new AuthenticationHeaderValue("Bearer", token);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RegistryException(RegistryFailure.Unreachable, $"registry {Registry}'s token endpoint {realm.GetLeftPart(UriPartial.Path)} failed: {e.Message}", e);
        }
    }

    private bool SameOrigin(Uri uri) => Uri.Compare(uri, _origin, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        string detail;
        try
        {
            detail = ErrorDetail(Encoding.UTF8.GetString(await HttpTransfers.ReadLimitedAsync(response.Content, 4096, cancellationToken)).Trim());
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            detail = "(a long answer)";
        }

        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new RegistryException(RegistryFailure.Unauthorized,
                $"registry {Registry} refused {(_credentials is { } c ? $"the credentials of user {c.User}" : "anonymous access")} to {what}: {(int)response.StatusCode} {detail}".Trim()),
            HttpStatusCode.NotFound => new RegistryException(RegistryFailure.NotFound, $"{what} not found in registry {Registry} (404{(detail.Length > 0 ? " " + detail : "")})"),
            _ => new RegistryException(RegistryFailure.Other, $"{what} failed: {(int)response.StatusCode} {response.ReasonPhrase} {detail}".Trim()),
        };
    }

    /// <summary>The distribution API's error body (<c>{"errors":[{"code","message"}]}</c>) as <c>CODE: message</c>; other text as it is.</summary>
    private static string ErrorDetail(string body)
    {
        try
        {
            var errors = JsonNode.Parse(body)?["errors"]?.AsArray();
            if (errors is { Count: > 0 })
            {
                return string.Join("; ", errors.Select(e => $"{(string?)e?["code"]}: {(string?)e?["message"]}"));
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            // not JSON: the text itself
        }

        return body.Length > 300 ? body[..300] + "..." : body;
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
    private static partial void LogBlobPushed(ILogger logger, string digest, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} already in the registry")]
    private static partial void LogBlobExists(ILogger logger, string digest);

}
