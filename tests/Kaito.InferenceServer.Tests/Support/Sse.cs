using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Kaito.InferenceServer.Tests.Support;

/// <summary>Reads an OpenAI SSE chat stream into its text, checking the event framing on the way.</summary>
public static class Sse
{
    public static async Task<string> StreamChatAsync(HttpClient http, string prompt, int maxTokens, string? model = null)
    {
        var response = await http.PostAsJsonAsync("v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content = prompt } },
            max_tokens = maxTokens,
            temperature = 0,
            stream = true,
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = new StringBuilder();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        foreach (var data in events[..^1])
        {
            Assert.StartsWith("data: ", data, StringComparison.Ordinal);
            var chunk = JsonNode.Parse(data["data: ".Length..])!;
            Assert.Equal("chat.completion.chunk", (string?)chunk["object"]);
            text.Append((string?)chunk["choices"]![0]!["delta"]!["content"]);
        }

        return text.ToString();
    }
}
