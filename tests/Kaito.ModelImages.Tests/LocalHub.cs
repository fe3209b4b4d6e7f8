using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kaito.ModelImages.Tests;

/// <summary>
/// A local server speaking the Hugging Face Hub's model API as huggingface_hub uses it — <c>/api/models/{repo}/revision/{rev}</c>
/// (commit and files with sizes, git blob ids and LFS sha256), <c>/{repo}/resolve/{rev}/{file}</c> (small files served,
/// LFS files redirected to a CDN path), gated repositories answering 401 <c>X-Error-Code: GatedRepo</c> without the
/// token, ranges — because no machine here reaches huggingface.co. It can cut a download short once, and records every
/// request with its Authorization and Range headers.
/// </summary>
public sealed class LocalHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (bool Gated, Dictionary<string, string> Refs, Dictionary<string, Dictionary<string, byte[]>> Commits)> _repos = new();
    private readonly ConcurrentDictionary<string, byte[]> _lfs = new();
    private readonly ConcurrentDictionary<string, long> _cuts = new();

    private LocalHub(WebApplication app) => _app = app;

    public const string Token = "hf_local_test_token";

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Every request: method, path, whether it carried the token, its Range header.</summary>
    public ConcurrentQueue<(string Path, bool Authorized, string? Range)> Requests { get; } = new();

    public static async Task<LocalHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Ports.Free()}");
        builder.Logging.ClearProviders();
        var hub = new LocalHub(builder.Build());
        hub._app.Use(async (context, next) =>
        {
            hub.Requests.Enqueue((context.Request.Path + context.Request.QueryString, context.Request.Headers.Authorization == $"Bearer {Token}",
                context.Request.Headers.Range.FirstOrDefault()));
            await next();
        });
        hub._app.MapGet("/api/models/{owner}/{name}/revision/{revision}", hub.Revision);
        hub._app.MapGet("/cdn/sha256/{hex}", hub.CdnAsync);
        hub._app.MapGet("/{owner}/{name}/resolve/{revision}/{**path}", hub.ResolveAsync);
        await hub._app.StartAsync();
        hub.Endpoint = new Uri(hub._app.Urls.First() + "/");
        return hub;
    }

    /// <summary>Adds a commit of <paramref name="files"/> to <paramref name="repository"/> and points <c>main</c> at it; returns the commit.</summary>
    public string Commit(string repository, IReadOnlyDictionary<string, byte[]> files, bool gated = false)
    {
        var commit = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{repository}{Guid.NewGuid()}")))[..40];
        var repo = _repos.GetOrAdd(repository, _ => (gated, new Dictionary<string, string>(), new Dictionary<string, Dictionary<string, byte[]>>()));
        lock (repo.Refs)
        {
            repo.Commits[commit] = new Dictionary<string, byte[]>(files);
            repo.Refs["main"] = commit;
        }

        foreach (var (path, content) in files.Where(f => IsLfs(f.Key)))
        {
            _lfs[Convert.ToHexStringLower(SHA256.HashData(content))] = content;
        }

        return commit;
    }

    /// <summary>The next CDN download of <paramref name="content"/> ends after <paramref name="bytes"/> bytes, as a dropped connection.</summary>
    public void CutOnce(byte[] content, long bytes) => _cuts[Convert.ToHexStringLower(SHA256.HashData(content))] = bytes;

    private static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".bin", StringComparison.Ordinal);

    private IResult Revision(HttpContext context, string owner, string name, string revision)
    {
        if (Find($"{owner}/{name}", revision, context) is not { } found)
        {
            return Results.Empty;
        }

        var siblings = new JsonArray();
        foreach (var (path, content) in found.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var sibling = new JsonObject { ["rfilename"] = path, ["size"] = content.Length, ["blobId"] = GitOid(content) };
            if (IsLfs(path))
            {
                sibling["lfs"] = new JsonObject { ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(content)), ["size"] = content.Length, ["pointerSize"] = 134 };
            }

            siblings.Add(sibling);
        }

        return Results.Json(new JsonObject { ["id"] = $"{owner}/{name}", ["sha"] = found.Commit, ["siblings"] = siblings });
    }

    private async Task ResolveAsync(HttpContext context, string owner, string name, string revision, string path)
    {
        if (Find($"{owner}/{name}", revision, context) is not { } found)
        {
            return;
        }

        if (!found.Files.TryGetValue(path, out var content))
        {
            context.Response.StatusCode = 404;
            context.Response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }

        context.Response.Headers["X-Repo-Commit"] = found.Commit;
        if (IsLfs(path))
        {
            context.Response.Redirect($"/cdn/sha256/{Convert.ToHexStringLower(SHA256.HashData(content))}");
            return;
        }

        await ServeAsync(context, content, cut: null);
    }

    private async Task CdnAsync(HttpContext context, string hex)
    {
        if (!_lfs.TryGetValue(hex, out var content))
        {
            context.Response.StatusCode = 404;
            return;
        }

        await ServeAsync(context, content, _cuts.TryRemove(hex, out var cut) ? cut : null);
    }

    private static async Task ServeAsync(HttpContext context, byte[] content, long? cut)
    {
        var start = 0L;
        if (context.Request.Headers.Range.FirstOrDefault() is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        context.Response.ContentLength = content.Length - start;
        if (cut is { } after)
        {
            await context.Response.Body.WriteAsync(content.AsMemory((int)start, (int)Math.Min(after, content.Length - start)));
            await context.Response.Body.FlushAsync();
            context.Abort();
            return;
        }

        await context.Response.Body.WriteAsync(content.AsMemory((int)start));
    }

    private (string Commit, Dictionary<string, byte[]> Files)? Find(string repository, string revision, HttpContext context)
    {
        if (!_repos.TryGetValue(repository, out var repo))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers["X-Error-Code"] = "RepoNotFound";
            return null;
        }

        if (repo.Gated && context.Request.Headers.Authorization != $"Bearer {Token}")
        {
            context.Response.StatusCode = 401;
            context.Response.Headers["X-Error-Code"] = "GatedRepo";
            context.Response.Headers["X-Error-Message"] = $"Access to model {repository} is restricted. You must have access to it and be authenticated to access it. Please log in.";
            return null;
        }

        lock (repo.Refs)
        {
            var commit = repo.Refs.GetValueOrDefault(revision) ?? (repo.Commits.ContainsKey(revision) ? revision : null);
            if (commit is null)
            {
                context.Response.StatusCode = 404;
                context.Response.Headers["X-Error-Code"] = "RevisionNotFound";
                context.Response.Headers["X-Error-Message"] = $"Invalid rev id: {revision}";
                return null;
            }

            return (commit, repo.Commits[commit]);
        }
    }

#pragma warning disable CA5350 // git's blob ids are SHA-1 by definition: the Hub lists them, the puller checks small files with them
    private static string GitOid(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
#pragma warning restore CA5350

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
