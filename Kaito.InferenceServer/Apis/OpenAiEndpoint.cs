using System.Text.Json;

namespace Kaito.InferenceServer.Apis;

/// <summary>Runs a handler and answers what it refuses in OpenAI's error shape; a departed client ends it quietly.</summary>
public static class OpenAiEndpoint
{
    public static async Task RunAsync(HttpContext context, Func<Task> handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handler);
        try
        {
            await handler();
        }
        catch (OpenAiException error) when (!context.Response.HasStarted)
        {
            await OpenAiErrors.Result(error).ExecuteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads <c>model</c> (optional: the base model when absent).</summary>
    public static string? ModelName(JsonElement body) => JsonRequest.OptionalString(body, "model");
}
