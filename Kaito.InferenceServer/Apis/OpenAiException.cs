namespace Kaito.InferenceServer.Apis;

/// <summary>A request the server refuses, answered in OpenAI's error shape with <see cref="StatusCode"/>.</summary>
public sealed class OpenAiException(int statusCode, string message, string? param = null, string? code = null) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>OpenAI's error type for the status.</summary>
    public string Type => StatusCode switch
    {
        404 => "NotFoundError",
        413 => "RequestTooLargeError",
        429 => "RateLimitError",
        >= 500 => "InternalServerError",
        _ => "BadRequestError",
    };

    public static OpenAiException Invalid(string param, string message) => new(StatusCodes.Status400BadRequest, message, param, "invalid_value");

    public static OpenAiException Missing(string param) =>
        new(StatusCodes.Status400BadRequest, $"'{param}' is required.", param, "missing_required_parameter");

    public static OpenAiException WrongType(string param, string expected) =>
        new(StatusCodes.Status400BadRequest, $"'{param}' must be {expected}.", param, "invalid_type");
}
