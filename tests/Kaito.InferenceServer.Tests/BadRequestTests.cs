using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Kaito.InferenceServer.Tests;

/// <summary>Malformed and abusive requests each get the right 4xx in OpenAI's error shape, and the server stays healthy.</summary>
[Collection(SharedInferenceServer.Name)]
public sealed class BadRequestTests(InferenceServerFixture server)
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";
    private const string User = """[{"role":"user","content":"hi"}]""";

    public static TheoryData<string, string, int, string?> Cases => new()
    {
        { Chat, "{", 400, null },
        { Chat, "[]", 400, null },
        { Chat, "\"hello\"", 400, null },
        { Chat, "{}", 400, "messages" },
        { Chat, """{"messages":"hi"}""", 400, "messages" },
        { Chat, """{"messages":[]}""", 400, "messages" },
        { Chat, """{"messages":[42]}""", 400, "messages[0]" },
        { Chat, """{"messages":[{"content":"hi"}]}""", 400, "messages[0].role" },
        { Chat, """{"messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role" },
        { Chat, """{"messages":[{"role":"user","content":7}]}""", 400, "messages[0].content" },
        { Chat, """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content[0]" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":-1}""", 400, "max_tokens" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":0}""", 400, "max_tokens" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":"ten"}""", 400, "max_tokens" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":1e20}""", 400, "max_tokens" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":2.5}""", 400, "max_tokens" },
        { Chat, $$"""{"messages":{{User}},"max_tokens":100000}""", 400, "messages" },
        { Chat, $$"""{"messages":{{User}},"temperature":5}""", 400, "temperature" },
        { Chat, $$"""{"messages":{{User}},"temperature":"hot"}""", 400, "temperature" },
        { Chat, $$"""{"messages":{{User}},"top_p":0}""", 400, "top_p" },
        { Chat, $$"""{"messages":{{User}},"n":17}""", 400, "n" },
        { Chat, $$"""{"messages":{{User}},"n":0}""", 400, "n" },
        { Chat, $$"""{"messages":{{User}},"stop":["a","b","c","d","e"]}""", 400, "stop" },
        { Chat, $$"""{"messages":{{User}},"stop":[1]}""", 400, "stop[0]" },
        { Chat, $$"""{"messages":{{User}},"stop":["a","{{new string('x', 257)}}"]}""", 400, "stop[1]" },
        { Chat, $$"""{"messages":{{User}},"stream":"yes"}""", 400, "stream" },
        { Chat, $$"""{"messages":{{User}},"stream_options":{"include_usage":true} }""", 400, "stream_options" },
        { Chat, $$"""{"messages":{{User}},"response_format":{"type":"xml"} }""", 400, "response_format.type" },
        { Chat, $$"""{"messages":{{User}},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"objectx"} } } }""", 400, "response_format" },
        { Chat, $$"""{"messages":{{User}},"response_format":{"type":"json_schema"} }""", 400, "response_format.json_schema" },
        { Chat, $$"""{"messages":{{User}},"top_logprobs":3}""", 400, "top_logprobs" },
        { Chat, $$"""{"messages":{{User}},"logprobs":true,"top_logprobs":21}""", 400, "top_logprobs" },
        { Chat, $$"""{"messages":{{User}},"logprobs":5}""", 400, "logprobs" },
        { Completions, """{"prompt":"hi","logprobs":true}""", 400, "logprobs" },
        { Chat, $$"""{"messages":{{User}},"model":"no-such-model"}""", 404, "model" },
        { Chat, $$"""{"messages":{{User}},"model":42}""", 400, "model" },
        { Completions, "{}", 400, "prompt" },
        { Completions, """{"prompt":42}""", 400, "prompt" },
        { Completions, """{"prompt":[1,2,3]}""", 400, "prompt" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task MalformedRequestGetsAnOpenAiShapedError(string path, string body, int status, string? param)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await server.Http.PostAsync(path, content);

        await AssertOpenAiErrorAsync(response, status, param);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("health")).StatusCode);
    }

    [Theory]
    [InlineData(Chat, "text/plain")]
    [InlineData(Completions, "application/x-www-form-urlencoded")]
    [InlineData("chat", "text/plain")]
    public async Task ABodyThatIsNotDeclaredJsonIsRefusedWith415(string path, string contentType)
    {
        // What a web page may send to a local server cross-origin without a CORS preflight.
        using var content = new StringContent($$"""{"messages":{{User}},"prompt":"hi"}""", Encoding.UTF8, contentType);

        var response = await server.Http.PostAsync(path, content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("Content-Type: application/json", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoOriginIsAllowedCrossOriginUnlessConfigured()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, Chat);
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");

        var response = await server.Http.SendAsync(preflight);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task TenMegabyteBodyIsRefusedWith413()
    {
        var huge = $$"""{"messages":[{"role":"user","content":"{{new string('x', 10 * 1024 * 1024)}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, Chat) { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        // As a well-behaved client uploading a large body does: the server refuses before the body is sent.
        request.Headers.ExpectContinue = true;

        var response = await server.Http.SendAsync(request);

        await AssertOpenAiErrorAsync(response, 413, null);
    }

    [Fact]
    public async Task PromptBeyondTheContextIsA400NotATruncation()
    {
        var words = string.Join(' ', Enumerable.Repeat("kubernetes", 3000));
        using var content = new StringContent($$"""{"messages":[{"role":"user","content":"{{words}}"}],"max_tokens":5}""", Encoding.UTF8, "application/json");

        var response = await server.Http.PostAsync(Chat, content);

        var error = await AssertOpenAiErrorAsync(response, 400, "messages");
        Assert.Equal("context_length_exceeded", (string?)error["code"]);
        Assert.Contains("maximum context length is 2048 tokens", (string?)error["message"], StringComparison.Ordinal);
    }

    private static async Task<JsonNode> AssertOpenAiErrorAsync(HttpResponseMessage response, int status, string? param)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.False(string.IsNullOrWhiteSpace((string?)error["type"]));
        Assert.NotNull(error["code"]);
        Assert.Equal(param, (string?)error["param"]);
        return error;
    }
}
