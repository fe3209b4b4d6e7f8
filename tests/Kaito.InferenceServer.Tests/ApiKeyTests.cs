using System.ClientModel;
using System.Net;
using Kaito.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Kaito.InferenceServer.Tests;

/// <summary>A server started with <c>--api-keys-file</c>: the official OpenAI client needs the key; probes and metrics do not.</summary>
public sealed class ApiKeyTests(ApiKeyTests.ProtectedServer server) : IClassFixture<ApiKeyTests.ProtectedServer>
{
    public sealed class ProtectedServer : InferenceServerFixture
    {
        public const string Key = "sk-kaito-test-4f1c9d";

        public string KeysFile => Path.Combine(Root, "api-keys");

        protected override IEnumerable<string> ExtraArguments
        {
            get
            {
                File.WriteAllText(KeysFile, $"# one key per line\n{Key}\n");
                return ["--api-keys-file", KeysFile];
            }
        }

        public OpenAIClient Client(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1") });
    }

    [Fact]
    public async Task TheOfficialClientWithTheKeyIsAnswered()
    {
        var chat = server.Client(ProtectedServer.Key).GetChatClient(InferenceServerFixture.ModelName);

        var completion = await chat.CompleteChatAsync([new UserChatMessage("What is Kubernetes?")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });

        Assert.Equal(ChatFinishReason.Length, completion.Value.FinishReason);
    }

    [Fact]
    public async Task AWrongKeyIsRefusedWith401InOpenAisShape()
    {
        var chat = server.Client("sk-wrong").GetChatClient(InferenceServerFixture.ModelName);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKeyIsRefusedButProbesAndMetricsAreOpen()
    {
        var models = await server.Http.GetAsync("v1/models");
        var legacy = await server.Http.PostAsync("chat", new StringContent("{\"prompt\":\"hi\"}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.Equal("Bearer", models.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, legacy.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task ARotatedKeyTakesEffectWithoutARestart()
    {
        const string Rotated = "sk-kaito-rotated-77aa01";
        await File.WriteAllTextAsync(server.KeysFile, $"{ProtectedServer.Key}\n{Rotated}\n");
        try
        {
            var models = server.Client(Rotated).GetOpenAIModelClient();

            var listed = await Eventually.ValueAsync(async () =>
            {
                try
                {
                    return (await models.GetModelsAsync()).Value;
                }
                catch (ClientResultException e) when (e.Status == 401)
                {
                    return null;
                }
            }, TimeSpan.FromSeconds(60));

            Assert.NotEmpty(listed);
        }
        finally
        {
            await File.WriteAllTextAsync(server.KeysFile, $"{ProtectedServer.Key}\n");
        }
    }
}
