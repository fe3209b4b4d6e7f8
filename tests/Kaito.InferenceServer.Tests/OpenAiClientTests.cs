using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Tokenizers;
using OpenAI.Chat;

namespace Kaito.InferenceServer.Tests;

/// <summary>The official OpenAI .NET client against the server: chat, streaming, completions, models, legacy /chat.</summary>
[Collection(SharedInferenceServer.Name)]
public sealed class OpenAiClientTests(InferenceServerFixture server)
{
    private static readonly ChatMessage[] Question = [new SystemChatMessage("You are helpful."), new UserChatMessage("What is Kubernetes?")];

    [Fact]
    public async Task ChatCompletionHonoursMaxTokensAndReportsExactUsage()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);

        ChatCompletion completion = await chat.CompleteChatAsync(Question, new ChatCompletionOptions { MaxOutputTokenCount = 7, Temperature = 0 });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(InferenceServerFixture.ModelName, completion.Model);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        var tokenizer = BpeTokenizer.Load(server.HuggingFace);
        var rendered = "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is Kubernetes?<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(tokenizer.Encode(rendered).Length, completion.Usage.InputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + 7, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task LogprobsDescribeTheChosenTokensAndTheirMostLikelyAlternatives()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };

        ChatCompletion completion = await chat.CompleteChatAsync(Question, options);
        var tokens = completion.ContentTokenLogProbabilities;
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in chat.CompleteChatStreamingAsync(Question, options))
        {
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }

        Assert.Equal(completion.Usage.OutputTokenCount, tokens.Count);
        // A byte-level token may hold part of a character (it reads as U+FFFD alone): compare the ASCII the tokens spell.
        static string Ascii(string text) => new([.. text.Where(c => c < 128)]);
        Assert.Equal(Ascii(completion.Content[0].Text), Ascii(string.Concat(tokens.Select(t => t.Token))));
        Assert.True(tokens.Sum(t => t.LogProbability) <= 0);
        foreach (var token in tokens)
        {
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.True(token.TopLogProbabilities.Zip(token.TopLogProbabilities.Skip(1)).All(p => p.First.LogProbability >= p.Second.LogProbability));
            Assert.True(token.TopLogProbabilities.Sum(t => Math.Exp(t.LogProbability)) <= 1 + 1e-6);
            // Greedy decoding chose the most likely token: the first alternative is the token itself.
            Assert.Equal(token.Token, token.TopLogProbabilities[0].Token);
            Assert.Equal(token.LogProbability, token.TopLogProbabilities[0].LogProbability, 1e-5);
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes!.Value.ToArray());
        }

        Assert.Equal(tokens.Select(t => (t.Token, Math.Round(t.LogProbability, 4))), streamed.Select(t => (t.Token, Math.Round(t.LogProbability, 4))));
    }

    [Fact]
    public async Task AToolCallRoundTripsThroughTheOfficialClientWholeAndStreamed()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var weather = ChatTool.CreateFunctionTool("get_weather", "The forecast for a city", BinaryData.FromString("""
            {"type":"object","properties":{"city":{"type":"string","enum":["Manila","Cebu","Davao"]},"days":{"type":"integer","enum":[1,2,3]}},
             "required":["city","days"],"additionalProperties":false}
            """));
        var forced = new ChatCompletionOptions { Tools = { weather }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"), MaxOutputTokenCount = 100, Temperature = 0 };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Manila?")];

        ChatCompletion call = await chat.CompleteChatAsync(messages, forced);
        var toolCall = Assert.Single(call.ToolCalls);
        var arguments = JsonNode.Parse(toolCall.FunctionArguments.ToString())!;
        var streamedName = new System.Text.StringBuilder();
        var streamedArguments = new System.Text.StringBuilder();
        ChatFinishReason? streamedFinish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, forced))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                streamedName.Append(part.FunctionName);
                streamedArguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }

            streamedFinish ??= update.FinishReason;
        }

        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(toolCall.Id, """{"forecast":"sunny","high_c":31}"""));
        ChatCompletion answer = await chat.CompleteChatAsync(messages, new ChatCompletionOptions { Tools = { weather }, MaxOutputTokenCount = 6, Temperature = 0 });

        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.StartsWith("call_", toolCall.Id, StringComparison.Ordinal);
        Assert.Matches("^(Manila|Cebu|Davao)$", (string?)arguments["city"]);
        Assert.InRange((int)arguments["days"]!, 1, 3);
        Assert.Equal(ChatFinishReason.ToolCalls, streamedFinish);
        Assert.Equal("get_weather", streamedName.ToString());
        Assert.Equal(toolCall.FunctionArguments.ToString(), streamedArguments.ToString());
        // The call and its result are part of the next prompt (the model reads them in the Hermes format).
        var tokenizer = BpeTokenizer.Load(server.HuggingFace);
        Assert.True(answer.Usage.InputTokenCount > call.Usage.InputTokenCount + tokenizer.Encode("""{"forecast":"sunny","high_c":31}""").Length);
        Assert.NotEqual(ChatFinishReason.ToolCalls, answer.FinishReason);
    }

    [Fact]
    public async Task ToolsAreCheckedByName()
    {
        const string Tools = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]""";

        var unknown = await PostRawAsync("""{"messages":[{"role":"user","content":"hi"}],"tools":""" + Tools + ""","tool_choice":{"type":"function","function":{"name":"get_time"}}}""");
        var badName = await PostRawAsync("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get weather"}}]}""");
        var noId = await PostRawAsync("""{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}],"tools":""" + Tools + "}");

        Assert.Equal(("tool_choice.function.name", 400), unknown);
        Assert.Equal(("tools[0].function.name", 400), badName);
        Assert.Equal(("messages[1].tool_call_id", 400), noId);
    }

    private async Task<(string? Param, int Status)> PostRawAsync(string body)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await server.Http.PostAsync("/v1/chat/completions", content);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return ((string?)error["error"]?["param"], (int)response.StatusCode);
    }

    [Fact]
    public async Task NChoicesAreDistinctSamplesAndReproducibleWithASeed()
    {
        // The official .NET client has no 'n' (it returns one choice); the wire format is OpenAI's.
        const string Body = """
            {"messages":[{"role":"user","content":"What is Kubernetes?"}],"n":3,"max_tokens":12,"temperature":1.0,"seed":7,"logprobs":true}
            """;

        var first = await PostAsync(Body);
        var again = await PostAsync(Body);

        var choices = first["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => (int)c!["index"]!));
        var texts = choices.Select(c => (string?)c!["message"]!["content"]).ToList();
        Assert.True(texts.Distinct().Count() > 1, string.Join(" | ", texts));
        Assert.Equal(texts, again["choices"]!.AsArray().Select(c => (string?)c!["message"]!["content"]));
        Assert.Equal(choices.Sum(c => c!["logprobs"]!["content"]!.AsArray().Count), (int)first["usage"]!["completion_tokens"]!);
        Assert.All(choices, c => Assert.True(c!["logprobs"]!["content"]!.AsArray().Sum(t => (double)t!["logprob"]!) <= 0));
    }

    [Fact]
    public async Task RepetitionPenaltyMakesGreedyOutputRepeatLess()
    {
        static string Body(double penalty) => $$"""
            {"messages":[{"role":"user","content":"What is Kubernetes?"}],"max_tokens":60,"temperature":0,"return_token_ids":true,"repetition_penalty":{{penalty.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}
            """;
        static int Repeats(JsonNode response) =>
            response["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!) is var ids ? ids.Count() - ids.Distinct().Count() : 0;

        var plain = await PostAsync(Body(1.0));
        var penalised = await PostAsync(Body(1.8));

        Assert.True(Repeats(penalised) < Repeats(plain), $"{Repeats(penalised)} repeats with the penalty, {Repeats(plain)} without");
    }

    private async Task<JsonNode> PostAsync(string body)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await server.Http.PostAsync("/v1/chat/completions", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task TemperatureZeroIsDeterministic()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 };

        var first = (await chat.CompleteChatAsync(Question, options)).Value.Content[0].Text;
        var second = (await chat.CompleteChatAsync(Question, options)).Value.Content[0].Text;

        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task StreamingChatYieldsTheSameTextAsTheWholeResponseAndEndsWithUsage()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 16, Temperature = 0 };
        var whole = (await chat.CompleteChatAsync(Question, options)).Value;

        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync(Question, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.True(updates > 2, $"expected several chunks, got {updates}");
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(16, usage.OutputTokenCount);
    }

    [Fact]
    public async Task StopSequenceEndsTheOutputBeforeIt()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var free = (await chat.CompleteChatAsync(Question, new ChatCompletionOptions { MaxOutputTokenCount = 40, Temperature = 0 })).Value.Content[0].Text;
        Assert.True(free.Length >= 8, $"need some output to cut, got '{free}'");
        var stop = free.Substring(free.Length / 2, 2);

        var options = new ChatCompletionOptions { MaxOutputTokenCount = 40, Temperature = 0 };
        options.StopSequences.Add(stop);
        var stopped = (await chat.CompleteChatAsync(Question, options)).Value;

        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
    }

    [Fact]
    public async Task JsonSchemaResponseFormatConstrainsTheOutput()
    {
        var chat = server.OpenAi.GetChatClient(InferenceServerFixture.ModelName);
        var schema = BinaryData.FromString("""
            {"type":"object","properties":{"ready":{"type":"boolean"},"replicas":{"type":"integer","minimum":0,"maximum":9}},
             "required":["ready","replicas"],"additionalProperties":false}
            """);
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 60,
            Temperature = 0,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("status", schema, jsonSchemaIsStrict: true),
        };

        ChatCompletion completion = await chat.CompleteChatAsync(Question, options);

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var json = JsonNode.Parse(completion.Content[0].Text)!.AsObject();
        Assert.Equal(["ready", "replicas"], json.Select(p => p.Key).Order());
        Assert.InRange((int)json["replicas"]!, 0, 9);
    }

    [Fact]
    public async Task ModelListNamesTheBaseModelAndTheAdapter()
    {
        var models = (await server.OpenAi.GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Equal([InferenceServerFixture.ModelName, InferenceServerFixture.AdapterName], models.Select(m => m.Id));
        Assert.All(models, m => Assert.Equal("kaito", m.OwnedBy));
    }

    [Fact]
    public void MalformedAdaptersBesideTheGoodOneAreSkippedWithTheirReason()
    {
        foreach (var (name, reason) in InferenceServerFixture.BadAdapters)
        {
            Assert.Contains($"Adapter {name} is not served: ", server.ServerLog, StringComparison.Ordinal);
            Assert.Contains(reason, server.ServerLog, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TextCompletionReturnsTextWithUsage()
    {
        var response = await server.Http.PostAsJsonAsync("v1/completions", new { model = InferenceServerFixture.ModelName, prompt = "The quick brown fox", max_tokens = 5, temperature = 0 });

        response.EnsureSuccessStatusCode();
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("text_completion", (string?)body["object"]);
        Assert.Equal("length", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.Equal(5, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(BpeTokenizer.Load(server.HuggingFace).Encode("The quick brown fox").Length, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task LegacyChatAnswersTheBriefsCurlRequest()
    {
        // The brief's command: curl -X POST http://$CLUSTERIP/chat -d "{\"prompt\":\"YOUR QUESTION HERE\"}"
        using var content = new StringContent("{\"prompt\":\"YOUR QUESTION HERE\"}", System.Text.Encoding.UTF8, "application/json");
        var response = await server.Http.PostAsync("chat", content);

        response.EnsureSuccessStatusCode();
        var result = (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["Result"];
        Assert.NotNull(result);
        Assert.StartsWith("YOUR QUESTION HERE", result, StringComparison.Ordinal);
        Assert.True(result.Length > "YOUR QUESTION HERE".Length);
    }

    [Fact]
    public async Task LegacyChatHonoursGenerateKwargsAndTheMessagesForm()
    {
        var greedy = new { max_length = 40, do_sample = false };
        var first = await server.Http.PostAsJsonAsync("chat", new { prompt = "Tell me a joke", return_full_text = false, generate_kwargs = greedy });
        var second = await server.Http.PostAsJsonAsync("chat", new { prompt = "Tell me a joke", return_full_text = false, generate_kwargs = greedy });
        var conversational = await server.Http.PostAsJsonAsync("chat", new { messages = new[] { new { role = "user", content = "Tell me a joke" } }, generate_kwargs = greedy });
        var missing = await server.Http.PostAsJsonAsync("chat", new { generate_kwargs = greedy });

        var a = (string?)JsonNode.Parse(await first.Content.ReadAsStringAsync())!["Result"];
        var b = (string?)JsonNode.Parse(await second.Content.ReadAsStringAsync())!["Result"];
        Assert.Equal(a, b);
        Assert.False(a!.StartsWith("Tell me a joke", StringComparison.Ordinal));
        Assert.Equal(System.Net.HttpStatusCode.OK, conversational.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("Text generation parameter prompt required", (string?)JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["detail"]);
    }
}
