using System.Text.Json;
using Kaito.InferenceServer.Apis;

namespace Kaito.InferenceServer.Tests;

/// <summary>tool_choice auto: what the model wrote in the Hermes format becomes tool_calls; anything else stays text.</summary>
public sealed class ToolCallingTests
{
    private static ToolCalling Auto() => ToolCalling.Parse(JsonDocument.Parse("""
        {"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}
        """).RootElement)!;

    [Fact]
    public void CallsInToolCallBlocksAreReadAndTheRestIsContent()
    {
        var (content, calls) = Auto().Read("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Cebu\", \"opts\": {\"unit\": \"c\"}}}\n</tool_call>");

        var call = Assert.Single(calls);
        Assert.Equal("Let me check.", content);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"Cebu","opts":{"unit":"c"}}""", call.Arguments);
        Assert.Matches("^call_[0-9a-f]{24}$", call.Id);
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>")]
    [InlineData("<tool_call>{\"name\": \"get_weather\", \"arguments\": \"Cebu\"}</tool_call>")]
    [InlineData("<tool_call>{\"name\": \"get_weather\", \"arguments\": {</tool_call>")]
    [InlineData("It is sunny.")]
    public void AnythingElseStaysText(string generated)
    {
        var (content, calls) = Auto().Read(generated);

        Assert.Empty(calls);
        Assert.Equal(generated, content);
    }

    [Fact]
    public void ToolChoiceNoneTurnsToolCallingOff()
    {
        Assert.Null(ToolCalling.Parse(JsonDocument.Parse("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}""").RootElement));
        Assert.Null(ToolCalling.Parse(JsonDocument.Parse("""{"messages":[]}""").RootElement));
        Assert.Null(Auto().Constraint());
    }
}
