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

    /// <summary>
    /// Runs a handler on the request's JSON body and the model it names (<c>model</c>, optional: the base model when
    /// absent), with OpenAI-shaped errors.
    /// </summary>
    public static Task RunAsync(HttpContext context, Serving.ModelRegistry registry, InferenceServerOptions options,
        Func<JsonElement, Engine.ILanguageModel, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        return RunAsync(context, async () =>
        {
            using var document = await JsonRequest.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
            var body = document.RootElement;
            await handler(body, Generation.ResolveModel(registry, JsonRequest.OptionalString(body, "model")));
        });
    }
}
