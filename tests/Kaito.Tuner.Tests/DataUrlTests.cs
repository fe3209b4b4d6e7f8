using System.Net;
using Kaito.Testing;

namespace Kaito.Tuner.Tests;

/// <summary>Datasets from URLs, downloaded with KAITO's rules (three tries, HTTP 200, non-empty).</summary>
public sealed class DataUrlTests(TuningFixture fixture) : IClassFixture<TuningFixture>, IDisposable
{
    private readonly int _port = Ports.Free();
    private HttpListener? _server;

    private string _prefix => $"http://127.0.0.1:{_port}/";

    private string Origin => $"127.0.0.1:{_port}";

    private HttpListener Server => _server ??= StartServer(fixture, _prefix);

    [Fact]
    public async Task AUrlWithAQueryIsDownloadedUnderItsPathNameAndTrainedOn()
    {
        var data = Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}");
        Assert.True(Server.IsListening);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"url-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", data, "--data-urls", $"{_prefix}datasets/train-00000-of-00001.parquet?download=true", "--allowed-data-hosts", Origin,
            "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.True(exit == 0, log);
        Assert.Equal(["train-00000-of-00001.parquet"], Directory.GetFiles(data).Select(Path.GetFileName));
        Assert.Contains("64 training examples", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty.parquet", "the response was empty")]
    [InlineData("missing.parquet", "HTTP 404")]
    public async Task AnUnusableUrlFailsAfterThreeAttempts(string file, string reason)
    {
        var url = $"{_prefix}datasets/{file}";
        Assert.True(Server.IsListening);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"bad-url-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}"), "--data-urls", url, "--allowed-data-hosts", Origin,
            "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.Equal(2, exit);
        Assert.Contains($"downloading {url} failed after 3 attempts: {reason}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableUrlFailsAfterThreeAttempts()
    {
        var port = Ports.Free();
        var url = $"http://127.0.0.1:{port}/train.parquet";

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"down-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}"), "--data-urls", url, "--allowed-data-hosts", $"127.0.0.1:{port}",
            "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.Equal(2, exit);
        Assert.Contains($"downloading {url} failed after 3 attempts", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALoopbackUrlIsRefusedUnlessItsOriginIsAllowed()
    {
        var url = $"{_prefix}datasets/train-00000-of-00001.parquet";

        var (exit, log) = await RunAsync(url);

        Assert.Equal(2, exit);
        Assert.Contains($"input URL refused: URL '{url}' points at a loopback address (127.0.0.1), which is not allowed", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARedirectToAnotherLoopbackPortIsRefusedAndNothingConnectsThere()
    {
        using var other = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var target = $"http://127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}/admin";
        Assert.True(Server.IsListening);

        var (exit, log) = await RunAsync($"{_prefix}redirect/{Uri.EscapeDataString(target)}", "--allowed-data-hosts", Origin);

        Assert.Equal(2, exit);
        Assert.Contains($"it redirects to {target}: URL '{target}' points at a loopback address (127.0.0.1), which is not allowed", log, StringComparison.Ordinal);
        Assert.False(other.Pending(), "the tuner connected to the redirect's target");
    }

    [Fact]
    public async Task ARedirectToANameThatResolvesToTheMetadataAddressIsRefusedBeforeAnySocketOpens()
    {
        // The name resolves (statically, as curl's --resolve) to the metadata service's link-local address: the URL rule
        // cannot see that, the connect-time check must. No packet leaves for that address.
        Assert.True(Server.IsListening);

        var (exit, log) = await RunAsync($"{_prefix}redirect/{Uri.EscapeDataString("http://metadata.test/latest/meta-data")}",
            "--allowed-data-hosts", Origin, "--resolve", "metadata.test=169.254.169.254");

        Assert.Equal(2, exit);
        Assert.Contains("connecting to metadata.test:80 was refused: it resolves to a link-local (cloud metadata) address (169.254.169.254)", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEncodedPathCannotWriteOutsideTheDataFolder()
    {
        var root = Path.Combine(fixture.Root, $"traversal-{Guid.NewGuid():N}");
        var data = Path.Combine(root, "data");
        Assert.True(Server.IsListening);

        var (exit, log) = await RunAsync($"{_prefix}datasets/..%2Fescaped.parquet", "--allowed-data-hosts", Origin, "--data", data);

        Assert.True(exit == 0, log);
        Assert.False(File.Exists(Path.Combine(root, "escaped.parquet")), "the download escaped the data folder");
        Assert.Equal(["dataset-0.parquet"], Directory.GetFiles(data).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AQueryStringNeverReachesTheLogOrTheError()
    {
        Assert.True(Server.IsListening);

        var (exit, log) = await RunAsync($"{_prefix}datasets/missing.parquet?sv=2024-01-01&sig=SUPERSECRET", "--allowed-data-hosts", Origin);

        Assert.Equal(2, exit);
        Assert.Contains($"downloading {_prefix}datasets/missing.parquet?… failed after 3 attempts", log, StringComparison.Ordinal);
        Assert.DoesNotContain("SUPERSECRET", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADownloadBeyondTheSizeLimitIsRefused()
    {
        Assert.True(Server.IsListening);

        var (exit, log) = await RunAsync($"{_prefix}datasets/train-00000-of-00001.parquet", "--allowed-data-hosts", Origin, "--max-download-bytes", "100");

        Assert.Equal(2, exit);
        Assert.Contains("at most 100 bytes are accepted (--max-download-bytes)", log, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Log)> RunAsync(string url, params string[] extra)
    {
        var data = extra.Contains("--data") ? [] : new[] { "--data", Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}") };
        return TunerRun.RunAsync(fixture.Root, ["--config", fixture.Config($"ssrf-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data-urls", url, "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"), .. data, .. extra]);
    }

    public void Dispose()
    {
        _server?.Stop();
        _server?.Close();
    }

    private static HttpListener StartServer(TuningFixture fixture, string prefix)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add(prefix);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var raw = context.Request.RawUrl!.Split('?')[0];
                var name = raw.Split('/')[^1];
                var source = Path.Combine(fixture.Data, "train-00000-of-00001.parquet");
                if (raw.StartsWith("/redirect/", StringComparison.Ordinal))
                {
                    context.Response.StatusCode = 302;
                    context.Response.RedirectLocation = Uri.UnescapeDataString(raw["/redirect/".Length..]);
                }
                else if (name is "train-00000-of-00001.parquet" or "..%2Fescaped.parquet")
                {
                    var bytes = await File.ReadAllBytesAsync(source);
                    context.Response.StatusCode = 200;
                    await context.Response.OutputStream.WriteAsync(bytes);
                }
                else
                {
                    context.Response.StatusCode = name == "empty.parquet" ? 200 : 404;
                }

                context.Response.Close();
            }
        });
        return listener;
    }
}
