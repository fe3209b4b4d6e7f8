using System.Net;
using System.Text;
using Kaito.Testing;
using Xunit.Abstractions;

namespace Kaito.InferenceServer.Tests;

/// <summary>
/// The server's JSON endpoints against mutated request bodies (seeded, repeatable): each gets an answer or a 4xx in the
/// API's error shape — never a 500 or a dropped connection — and the server keeps serving.
/// </summary>
[Collection(SharedInferenceServer.Name)]
public sealed class FuzzTests(InferenceServerFixture server, ITestOutputHelper output)
{
    private static readonly (string Path, string Body)[] s_seeds =
    [
        ("v1/chat/completions", """{"model":"kaito-tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":3,"temperature":0,"stop":["\n"],"stream":false}"""),
        ("v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"}}"""),
        ("v1/completions", """{"model":"demo","prompt":"The quick","max_tokens":3,"top_p":0.9,"top_k":5,"seed":7,"return_token_ids":true}"""),
        ("chat", """{"prompt":"YOUR QUESTION HERE","return_full_text":false,"generate_kwargs":{"max_new_tokens":3,"do_sample":false,"top_k":10}}"""),
        ("tokenize", """{"messages":[{"role":"user","content":"Hi"}],"add_generation_prompt":true}"""),
        ("detokenize", """{"tokens":[1,2,3]}"""),
    ];

    [Fact]
    public async Task MutatedRequestBodiesNeverGetA500()
    {
        var seeds = s_seeds.Select(s => Encoding.UTF8.GetBytes($"{s.Path}\n{s.Body}")).ToList();

        var report = await Fuzzer.RunAsync("JSON request bodies (inference server)", seeds, 1500, 41, async bytes =>
        {
            var text = Encoding.UTF8.GetString(bytes);
            var newline = text.IndexOf('\n', StringComparison.Ordinal);
            var path = newline > 0 && s_seeds.Any(s => s.Path == text[..newline]) ? text[..newline] : "v1/chat/completions";
            using var content = new ByteArrayContent(bytes[(newline + 1)..]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await server.Http.PostAsync(path, content);
            var body = await response.Content.ReadAsStringAsync();
            return (int)response.StatusCode switch
            {
                < 300 => true,
                < 500 => false,
                var status => throw new InvalidOperationException($"{path}: HTTP {status}: {body}"),
            };
        });

        output.WriteLine(report.ToString());
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("health")).StatusCode);
    }
}
