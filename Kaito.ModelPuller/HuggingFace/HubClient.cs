using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Oci;

namespace Kaito.ModelPuller.HuggingFace;

/// <summary>One file of a model repository at a revision, as the Hub lists it.</summary>
/// <param name="Path">The repository path (<c>rfilename</c>).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">The LFS object's SHA-256 (large files), or null.</param>
/// <param name="GitOid">The git blob id (SHA-1 of <c>blob &lt;size&gt;\0&lt;content&gt;</c>) of a small file, or null.</param>
public sealed record HubFile(string Path, long Size, string? Sha256, string? GitOid);

/// <summary>
/// The Hugging Face Hub's model API as huggingface_hub uses it: <c>GET /api/models/{repo}/revision/{revision}?blobs=true</c>
/// resolves a branch or tag to its commit and lists the files with their sizes and hashes; <c>GET
/// /{repo}/resolve/{commit}/{file}</c> downloads one (redirected to a CDN for LFS files), with the token as a Bearer
/// header — to the Hub's own origin only, never to a redirect's. Files are downloaded by commit, so a branch that
/// moves meanwhile cannot mix two revisions; each is resumed with a range request after an interruption and checked
/// against its SHA-256 (LFS) or git blob id. Gated and private repositories without an accepted token fail with a
/// message that says which secret to provide.
/// </summary>
public sealed class HubClient(HttpClient http, Uri endpoint, string? token, ILogger logger)
{
    private const int MaxListingBytes = 16 * 1024 * 1024;

    /// <summary>The commit <paramref name="revision"/> names and the repository's files there.</summary>
    public async Task<(string Commit, IReadOnlyList<HubFile> Files)> ResolveAsync(string repository, string revision, CancellationToken cancellationToken)
    {
        var uri = new Uri(endpoint, $"api/models/{repository}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), repository, cancellationToken);
        await EnsureAsync(response, repository, revision, cancellationToken);
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(await HttpTransfers.ReadLimitedAsync(response.Content, MaxListingBytes, cancellationToken));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the Hub's listing of {repository}@{revision} is not JSON: {e.Message}", e);
        }

        var commit = (string?)body?["sha"];
        if (commit is null || commit.Length != 40 || !commit.All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidDataException($"the Hub's listing of {repository}@{revision} names no commit");
        }

        var files = new List<HubFile>();
        foreach (var sibling in body?["siblings"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var path = (string?)sibling["rfilename"] ?? throw new InvalidDataException($"the Hub's listing of {repository} has a file without a name");
            var lfs = sibling["lfs"] as JsonObject;
            var size = (long?)lfs?["size"] ?? (long?)sibling["size"] ?? throw new InvalidDataException($"the Hub's listing of {repository} gives no size for {path}");
            var sha256 = (string?)lfs?["sha256"];
            if (sha256 is not null && (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower)))
            {
                throw new InvalidDataException($"the Hub's listing of {repository} gives {path} an invalid sha256");
            }

            files.Add(new HubFile(path, size, sha256, (string?)sibling["blobId"]));
        }

        return (commit, files);
    }

    /// <summary>
    /// Downloads <paramref name="file"/> at <paramref name="commit"/> into <paramref name="partialPath"/>, continuing
    /// from what it holds, and verifies it.
    /// </summary>
    public async Task DownloadAsync(string repository, string commit, HubFile file, string partialPath, Action<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        var uri = new Uri(endpoint, $"{repository}/resolve/{commit}/{string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString))}");
        await HttpTransfers.DownloadAsync(uri, partialPath, file.Size, file.Path, $"the Hugging Face Hub at {endpoint.Host}",
            create => SendAsync(create, repository, cancellationToken, HttpCompletionOption.ResponseHeadersRead),
            response => EnsureAsync(response, repository, file.Path, cancellationToken), progress, logger, cancellationToken);
        Verify(repository, file, partialPath);
    }

    /// <summary>The file against the hash the Hub lists for it; a mismatch deletes it.</summary>
    private static void Verify(string repository, HubFile file, string path)
    {
        string? expected = null, actual = null;
        if (file.Sha256 is { } sha256)
        {
            (expected, actual) = (sha256, Digests.Hex(Digests.OfFile(path)));
        }
        else if (file.GitOid is { } oid)
        {
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {new FileInfo(path).Length}\0"));
            using (var stream = File.OpenRead(path))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = stream.Read(buffer)) > 0)
                {
                    sha1.AppendData(buffer, 0, read);
                }
            }

            (expected, actual) = (oid, Convert.ToHexStringLower(sha1.GetHashAndReset()));
        }

        if (expected is not null && expected != actual)
        {
            File.Delete(path);
            throw new RegistryException(RegistryFailure.DigestMismatch, $"{file.Path} of {repository} has the wrong content ({actual}, the Hub lists {expected}); refused and deleted");
        }
    }

    private Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, string repository, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead) =>
        HttpTransfers.SendAsync(http, () =>
        {
            var request = create();
            // The token goes to the Hub only; HttpClient drops it when a redirect leads to the CDN.
            if (token is not null && Uri.Compare(request.RequestUri, endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            return request;
        }, completion, $"the Hugging Face Hub at {endpoint.Host} ({repository})", logger, again: null, cancellationToken);

    private async Task EnsureAsync(HttpResponseMessage response, string repository, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var message = response.Headers.TryGetValues("X-Error-Message", out var messages) ? messages.FirstOrDefault() : null;
        if (message is null)
        {
            try
            {
                var text = Encoding.UTF8.GetString(await HttpTransfers.ReadLimitedAsync(response.Content, 4096, cancellationToken));
                message = (string?)JsonNode.Parse(text)?["error"] ?? text;
            }
            catch (Exception e) when (e is JsonException or IOException or InvalidDataException or InvalidOperationException)
            {
                message = null;
            }
        }

        var detail = $"{(int)response.StatusCode}{(code is null ? "" : " " + code)}{(string.IsNullOrWhiteSpace(message) ? "" : ": " + message.Trim())}";
        throw (response.StatusCode, code) switch
        {
            (_, "GatedRepo") or (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, _) when token is null => new RegistryException(RegistryFailure.Unauthorized,
                $"model {repository} is gated or private: it needs a Hugging Face token with access (the workspace's modelAccessSecret, key HF_TOKEN) ({detail})"),
            (_, "GatedRepo") or (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, _) => new RegistryException(RegistryFailure.Unauthorized,
                $"the Hugging Face token was refused for model {repository}: request access on the model's page or use a token that has it ({detail})"),
            (HttpStatusCode.NotFound, "RevisionNotFound") => new RegistryException(RegistryFailure.NotFound, $"model {repository} has no revision {what} ({detail})"),
            (HttpStatusCode.NotFound, _) => new RegistryException(RegistryFailure.NotFound, $"model {repository}: {what} not found on the Hub ({detail})"),
            _ => new RegistryException(RegistryFailure.Other, $"the Hub answered {detail} for {repository} {what}"),
        };
    }

}
