using System.Net;
using Kaito.Testing;

namespace Kaito.Tuner.Tests;

/// <summary>Datasets from URLs, downloaded with KAITO's rules (three tries, HTTP 200, non-empty).</summary>
public sealed class DataUrlTests(TuningFixture fixture) : IClassFixture<TuningFixture>, IDisposable
{
    private readonly string _prefix = $"http://127.0.0.1:{Ports.Free()}/";
    private HttpListener? _server;

    private HttpListener Server => _server ??= StartServer(fixture, _prefix);

    [Fact]
    public async Task AUrlWithAQueryIsDownloadedUnderItsPathNameAndTrainedOn()
    {
        var data = Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}");
        Assert.True(Server.IsListening);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"url-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", data, "--data-urls", $"{_prefix}datasets/train-00000-of-00001.parquet?download=true",
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
            "--data", Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}"), "--data-urls", url,
            "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.Equal(2, exit);
        Assert.Contains($"downloading {url} failed after 3 attempts: {reason}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableUrlFailsAfterThreeAttempts()
    {
        var url = $"http://127.0.0.1:{Ports.Free()}/train.parquet";

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, "--config", fixture.Config($"down-{Guid.NewGuid():N}", TuningFixture.LoraConfig(4)),
            "--data", Path.Combine(fixture.Root, $"url-data-{Guid.NewGuid():N}"), "--data-urls", url,
            "--model", fixture.Model, "--output", Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}"));

        Assert.Equal(2, exit);
        Assert.Contains($"downloading {url} failed after 3 attempts", log, StringComparison.Ordinal);
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

                var name = context.Request.Url!.AbsolutePath.Split('/')[^1];
                var source = Path.Combine(fixture.Data, "train-00000-of-00001.parquet");
                if (name == "train-00000-of-00001.parquet")
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
