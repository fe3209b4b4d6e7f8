using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.InferenceServer.Tests.Support;

namespace Kaito.InferenceServer.Tests;

/// <summary>A server with one batch slot and a queue of two, flooded.</summary>
public sealed class OverloadTests(OverloadTests.SmallQueueServer server) : IClassFixture<OverloadTests.SmallQueueServer>
{
    public sealed class SmallQueueServer : InferenceServerFixture
    {
        protected override IEnumerable<string> ExtraArguments => ["--max-batch-size", "1", "--max-queue", "2"];
    }

    [Fact]
    public async Task RequestsBeyondTheQueueGet429WithRetryAfterAndEveryAcceptedRequestCompletes()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => server.Http.PostAsJsonAsync("v1/completions",
            new { prompt = $"Flood {i}", max_tokens = 300, temperature = 0 })));

        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.NotEmpty(rejected);
        Assert.NotEmpty(accepted);
        Assert.Equal(responses.Length, rejected.Count + accepted.Count);
        foreach (var response in rejected)
        {
            Assert.NotNull(response.Headers.RetryAfter);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("RateLimitError", (string?)error["type"]);
        }

        foreach (var response in accepted)
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            var finish = (string?)body["choices"]![0]!["finish_reason"];
            Assert.True(finish is "length" or "stop", finish);
            Assert.True(finish == "stop" || (int)body["usage"]!["completion_tokens"]! == 300);
        }

        var metrics = await Metrics.ReadAsync(server.Http);
        Assert.Equal(rejected.Count, metrics.Value("kaito_ratelimit_rejected_total"));
        Assert.Equal(0, metrics.Value("vllm:num_requests_running"));
        Assert.Equal(0, metrics.Value("vllm:num_requests_waiting"));
    }

    /// <summary>A server whose queue admits nothing: every request is refused before it is prepared.</summary>
    public sealed class NoQueueServer : InferenceServerFixture
    {
        protected override IEnumerable<string> ExtraArguments => ["--max-queue", "0"];
    }
}

/// <summary>A server at capacity refuses before it templates, tokenizes or compiles a grammar for a request.</summary>
public sealed class AdmissionTests(OverloadTests.NoQueueServer server) : IClassFixture<OverloadTests.NoQueueServer>
{
    [Fact]
    public async Task AtCapacityEvenAPromptBeyondTheContextGets429NotAContextError()
    {
        // Only a request that was tokenized could be told its prompt is too long: a 429 means no tokenizing was done.
        var words = string.Join(' ', Enumerable.Repeat("kubernetes", 3000));

        var response = await server.Http.PostAsJsonAsync("v1/chat/completions", new { messages = new[] { new { role = "user", content = words } }, max_tokens = 5 });

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
    }
}
