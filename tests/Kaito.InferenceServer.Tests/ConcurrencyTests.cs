using Kaito.Testing;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.InferenceServer.Tests.Support;

namespace Kaito.InferenceServer.Tests;

/// <summary>Batching is invisible to clients: concurrent requests get exactly what they would get alone.</summary>
[Collection(SharedInferenceServer.Name)]
public sealed class ConcurrencyTests(InferenceServerFixture server)
{
    [Fact]
    public async Task SixteenConcurrentStreamsEachEqualTheSameRequestServedAlone()
    {
        var prompts = Enumerable.Range(0, 16).Select(i => $"Request {i}: what is a pod{new string('?', i % 5)}").ToArray();
        var alone = new List<string>();
        foreach (var prompt in prompts)
        {
            alone.Add(await Sse.StreamChatAsync(server.Http, prompt, maxTokens: 24));
        }

        var together = await Task.WhenAll(prompts.Select(p => Sse.StreamChatAsync(server.Http, p, maxTokens: 24)));

        Assert.Equal(alone, together);
        Assert.True(alone.Distinct().Count() > 1, "different prompts should give different outputs");
    }

    [Fact]
    public async Task ARequestJoiningARunningBatchChangesNeitherOutput()
    {
        const string longPrompt = "Tell a long story about clusters.";
        const string shortPrompt = "And a short one?";
        var longAlone = await Sse.StreamChatAsync(server.Http, longPrompt, maxTokens: 1500);
        var shortAlone = await Sse.StreamChatAsync(server.Http, shortPrompt, maxTokens: 40);
        var before = await Metrics.ReadAsync(server.Http);

        // The short request is sent once the long one has streamed its first tokens, so it must join a running batch.
        var (longTogether, shortTogether) = await Sse.StreamChatWhileAnotherRunsAsync(server.Http, longPrompt, 1500,
            () => Sse.StreamChatAsync(server.Http, shortPrompt, maxTokens: 40));

        Assert.Equal(shortAlone, shortTogether);
        Assert.Equal(longAlone, longTogether);
        var after = await Metrics.ReadAsync(server.Http);
        Assert.True(after.Value("kaito_batch_restarts_total") > before.Value("kaito_batch_restarts_total"),
            "the short request should have joined the running batch");
    }

    [Fact]
    public async Task AClientThatDisconnectsMidStreamFreesItsSlot()
    {
        var before = await Metrics.ReadAsync(server.Http);
        // No draining on dispose: the connection really closes, as a client that goes away does.
        using (var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress })
        using (var cancel = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = JsonContent.Create(new
                {
                    model = InferenceServerFixture.ModelName,
                    messages = new[] { new { role = "user", content = "Write a very long story." } },
                    max_tokens = 1800,
                    temperature = 0,
                    stream = true,
                }),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token), Encoding.UTF8);
            for (var events = 0; events < 3;)
            {
                var line = await reader.ReadLineAsync(cancel.Token);
                Assert.NotNull(line);
                events += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }

            // The running sequence holds its prompt and what it generated in the KV cache (vLLM's gauges, both names).
            var during = await Metrics.ReadAsync(server.Http);
            Assert.True(during.Value("vllm:gpu_cache_usage_perc") > 0, "the KV cache is in use while the stream runs");
            Assert.Equal(during.Value("vllm:gpu_cache_usage_perc"), during.Value("vllm:kv_cache_usage_perc"));
            await cancel.CancelAsync();
        }

        var after = await Eventually.ValueAsync(async () =>
        {
            var metrics = await Metrics.ReadAsync(server.Http);
            return metrics.Value("vllm:request_success_total", ("finished_reason", "cancelled")) > before.Value("vllm:request_success_total", ("finished_reason", "cancelled"))
                ? metrics
                : null;
        }, context: () => server.ServerLog);
        Assert.Equal(0, after.Value("vllm:num_requests_running"));
        Assert.Equal(0, after.Value("vllm:num_requests_waiting"));
        Assert.Equal(0, after.Value("vllm:gpu_cache_usage_perc"));
        Assert.Equal(1, after.Value("vllm:cache_config_info", ("block_size", "1"), ("enable_prefix_caching", "False")));

        var next = await server.Http.PostAsJsonAsync("v1/completions", new { prompt = "Still there?", max_tokens = 4, temperature = 0 });
        Assert.True(next.IsSuccessStatusCode, await next.Content.ReadAsStringAsync());
        Assert.Equal(4, (int)JsonNode.Parse(await next.Content.ReadAsStringAsync())!["usage"]!["completion_tokens"]!);
    }
}
