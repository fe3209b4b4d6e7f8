using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Kaito.InferenceServer.Tests.Support;

/// <summary>Reads an OpenAI SSE chat stream into its text, checking the event framing on the way.</summary>
public static class Sse
{
    /// <summary>
    /// Streams one chat request and, once its first content event arrived, runs <paramref name="meanwhile"/>; returns
    /// both outputs.
    /// </summary>
    public static async Task<(string First, string Meanwhile)> StreamChatWhileAnotherRunsAsync(HttpClient http, string prompt, int maxTokens,
        Func<Task<string>> meanwhile)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                messages = new[] { new { role = "user", content = prompt } },
                max_tokens = maxTokens,
                temperature = 0,
                stream = true,
            }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
        var text = new StringBuilder();
        Task<string>? other = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            var content = (string?)JsonNode.Parse(line["data: ".Length..])!["choices"]![0]!["delta"]!["content"];
            text.Append(content);
            if (other is null && !string.IsNullOrEmpty(content))
            {
                other = meanwhile();
            }
        }

        Assert.NotNull(other);
        return (text.ToString(), await other);
    }

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
