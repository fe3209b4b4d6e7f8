using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Tiny;
using Kaito.Testing;
using Microsoft.ML.OnnxRuntimeGenAI;

// Usage: dotnet run -c Release --project bench/Kaito.InferenceServer.Benchmarks
//            [-- --model <onnx-dir>] [--tokens <n>] [--seconds <s>] [--intra-op-threads <n>]
string? model = null;
var tokens = 256;
int? threads = null;
var seconds = 6;
for (var i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--model": model = args[i + 1]; break;
        case "--tokens": tokens = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--seconds": seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--intra-op-threads": threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: throw new ArgumentException($"unknown option {args[i]}");
    }
}

// The server's default on CPU (one thread per core but one); the raw loop uses the same so both run the same session.
threads ??= Math.Max(1, Environment.ProcessorCount - 1);

string? temporary = null;
if (model is null)
{
    temporary = Directory.CreateTempSubdirectory("kaito-bench-").FullName;
    model = TinyModel.Generate(temporary).Onnx;
}

const string Prompt = "Explain what a Kubernetes operator does, step by step.";
Console.WriteLine($"Inference benchmark: {model}, {tokens} tokens per request, greedy, {Environment.ProcessorCount} cores, intra-op threads {threads}");
Console.WriteLine();

var port = Ports.Free();
await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(),
    ["--model", model, "--served-model-name", "bench", "--port", port.ToString(CultureInfo.InvariantCulture), "--max-batch-size", "16", "--max-queue", "256",
     .. (threads is { } t ? new[] { "--intra-op-threads", t.ToString(CultureInfo.InvariantCulture) } : [])],
    new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" });
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(5) };
await Eventually.ValueAsync(async () => (await http.GetAsync("health")).StatusCode == HttpStatusCode.OK ? "up" : null, TimeSpan.FromSeconds(120), () => server.Log);

// Raw and HTTP alternate in rounds so a noisy neighbour hits both alike; medians are reported.
using var raw = new Raw(model, Prompt, tokens, threads);
var rawRounds = new List<(double Rate, TimeSpan First)>();
var httpRounds = new List<Result>();
for (var round = 0; round < 5; round++)
{
    rawRounds.Add(raw.Measure(TimeSpan.FromSeconds(seconds / 2.0)));
    httpRounds.Add(await Http.SweepAsync(http, Prompt, tokens, clients: 1, TimeSpan.FromSeconds(seconds / 2.0)));
}

var rawRate = rawRounds.Select(r => r.Rate).Order().ElementAt(2);
var rawFirst = rawRounds.Select(r => r.First).Order().ElementAt(2);
var single = httpRounds.OrderBy(r => r.TokensPerSecond).ElementAt(2);
Console.WriteLine($"raw GenAI loop        {rawRate,10:0} tok/s   TTFT {rawFirst.TotalMilliseconds,7:0.00} ms   (rounds: {string.Join(", ", rawRounds.Select(r => r.Rate.ToString("0", CultureInfo.InvariantCulture)))})");
Console.WriteLine($"HTTP single stream    {single.TokensPerSecond,10:0} tok/s   TTFT {single.P50.TotalMilliseconds,7:0.00} ms   (rounds: {string.Join(", ", httpRounds.Select(r => r.TokensPerSecond.ToString("0", CultureInfo.InvariantCulture)))})");
// Each HTTP round runs right after its raw round; the median of the paired ratios resists a noisy machine best.
var ratio = rawRounds.Zip(httpRounds, (r, h) => h.TokensPerSecond / r.Rate).Order().ElementAt(2);
Console.WriteLine($"HTTP / raw            {ratio,10:0.00}   (median of paired rounds)");
Console.WriteLine();
Console.WriteLine($"{"clients",7} {"aggregate tok/s",16} {"TTFT p50 ms",12} {"TTFT p99 ms",12} {"requests",9} {"restarts",9} {"× single",9}");
foreach (var clients in new[] { 1, 2, 4, 8, 16 })
{
    var restartsBefore = await Restarts(http);
    var result = clients == 1 ? single : await Http.SweepAsync(http, Prompt, tokens, clients, TimeSpan.FromSeconds(seconds));
    var restarts = clients == 1 ? 0 : await Restarts(http) - restartsBefore;
    Console.WriteLine($"{clients,7} {result.TokensPerSecond,16:0} {result.P50.TotalMilliseconds,12:0.00} {result.P99.TotalMilliseconds,12:0.00} {result.Requests,9} {restarts,9:0} {result.TokensPerSecond / single.TokensPerSecond,9:0.00}");
}

static async Task<double> Restarts(HttpClient http) => (await http.GetStringAsync("metrics")).Split('\n')
    .Where(line => line.StartsWith("kaito_batch_restarts_total", StringComparison.Ordinal))
    .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

if (temporary is not null)
{
    Directory.Delete(temporary, recursive: true);
}

internal sealed record Result(double TokensPerSecond, TimeSpan P50, TimeSpan P99, int Requests);

/// <summary>The baseline: GenAI's generation loop in process, one sequence, the same prompt and length.</summary>
internal sealed class Raw : IDisposable
{
    private readonly OgaHandle _handle = new();
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly string _text;
    private readonly int _tokens;

    public Raw(string directory, string prompt, int tokens, int? threads)
    {
        using var config = new Config(directory);
        if (threads is { } count)
        {
            config.Overlay($$"""{"model":{"decoder":{"session_options":{"intra_op_num_threads":{{count}} } } } }""");
        }

        _model = new Model(config);
        _tokenizer = new Tokenizer(_model);
        var template = Kaito.Models.Tokenizers.TokenizerConfig.Load(directory).ChatTemplate;
        _text = _tokenizer.ApplyChatTemplate(template, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }).ToJsonString(), null, true);
        _tokens = tokens;
        Measure(TimeSpan.FromSeconds(0.5));
    }

    public void Dispose()
    {
        _tokenizer.Dispose();
        _model.Dispose();
        _handle.Dispose();
    }

    /// <summary>Generation loops back to back for <paramref name="duration"/>: aggregate tokens/s and median TTFT.</summary>
    public (double Rate, TimeSpan First) Measure(TimeSpan duration)
    {
        var (model, tokenizer, text, tokens) = (_model, _tokenizer, _text, _tokens);
        using var stream = tokenizer.CreateStream();
        var firsts = new List<TimeSpan>();
        long total = 0;
        var overall = Stopwatch.StartNew();
        while (overall.Elapsed < duration)
        {
            using var sequences = tokenizer.Encode(text);
            var clock = Stopwatch.StartNew();
            using var parameters = new GeneratorParams(model);
            parameters.SetSearchOption("max_length", sequences[0].Length + tokens);
            using var generator = new Generator(model, parameters);
            generator.AppendTokenSequences(sequences);
            var generated = 0;
            while (!generator.IsDone() && generated < tokens)
            {
                generator.GenerateNextToken();
                _ = stream.Decode(generator.GetNextTokens()[0]);
                if (++generated == 1)
                {
                    firsts.Add(clock.Elapsed);
                }
            }

            total += generated;
        }

        firsts.Sort();
        return (total / overall.Elapsed.TotalSeconds, firsts[firsts.Count / 2]);
    }
}

/// <summary>Clients streaming chat completions back to back for a fixed time.</summary>
internal static class Http
{
    public static async Task<Result> SweepAsync(HttpClient http, string prompt, int tokens, int clients, TimeSpan duration)
    {
        // Warm-up (JIT tiers, connection pool), not counted.
        var warmUp = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (warmUp.Elapsed < TimeSpan.FromSeconds(1))
            {
                await StreamAsync(http, prompt, tokens);
            }
        }));
        var firsts = new List<TimeSpan>();
        long generated = 0;
        var requests = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                var (first, count) = await StreamAsync(http, prompt, tokens);
                lock (firsts)
                {
                    firsts.Add(first);
                    generated += count;
                    requests++;
                }
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        firsts.Sort();
        return new Result(generated / elapsed, firsts[firsts.Count / 2], firsts[Math.Min(firsts.Count - 1, (int)(firsts.Count * 0.99))], requests);
    }

    private static async Task<(TimeSpan First, int Tokens)> StreamAsync(HttpClient http, string prompt, int tokens)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                messages = new[] { new { role = "user", content = prompt } },
                max_tokens = tokens,
                temperature = 0,
                stream = true,
                stream_options = new { include_usage = true },
            }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        TimeSpan? first = null;
        var count = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            var chunk = JsonNode.Parse(line[6..])!;
            if (chunk["usage"] is JsonObject usage)
            {
                count = (int)usage["completion_tokens"]!;
            }
            else if (first is null && chunk["choices"]![0]!["delta"]!["role"] is null)
            {
                first = clock.Elapsed;
            }
        }

        return (first ?? clock.Elapsed, count);
    }
}
