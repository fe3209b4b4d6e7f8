using System.Text.Json.Nodes;

namespace Kaito.InferenceServer.Apis;

/// <summary>Writes errors as OpenAI does: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public static class OpenAiErrors
{
    public static JsonObject Body(OpenAiException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = error.Message,
                ["type"] = error.Type,
                ["param"] = error.Param,
                ["code"] = error.Code ?? error.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
    }

    public static IResult Result(OpenAiException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.StatusCode == StatusCodes.Status429TooManyRequests)
        {
            return new RetryAfterResult(TypedResults.Json(Body(error), statusCode: error.StatusCode));
        }

        return TypedResults.Json(Body(error), statusCode: error.StatusCode);
    }

    /// <summary>429s tell the client when to come back.</summary>
    private sealed class RetryAfterResult(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
