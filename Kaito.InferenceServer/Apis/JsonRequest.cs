using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Kaito.InferenceServer.Apis;

/// <summary>
/// Reads a JSON request body and its fields with errors that name the parameter (<c>messages[2].role</c>), so every
/// malformed request is a 400 (or 413) in OpenAI's shape and never a 500.
/// </summary>
public static class JsonRequest
{
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Only JSON: a text/plain body is what a web page may send cross-origin without a preflight.
        if (!request.HasJsonContentType())
        {
            throw new OpenAiException(StatusCodes.Status415UnsupportedMediaType,
                $"The request body must be JSON: send 'Content-Type: application/json' (got '{request.ContentType ?? "none"}').", null, "unsupported_media_type");
        }

        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        try
        {
            var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new OpenAiException(StatusCodes.Status400BadRequest, "The request body must be a JSON object.", null, "invalid_request_body");
            }

            if (InvalidText(document.RootElement) is { } where)
            {
                document.Dispose();
                throw new OpenAiException(StatusCodes.Status400BadRequest, $"The request body holds text that is not valid UTF-8 (at {where}).", null, "invalid_json");
            }

            return document;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            throw new OpenAiException(StatusCodes.Status400BadRequest, $"The request body is not valid JSON{where}: {e.Message}", null, "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
    }

    /// <summary>
    /// The path of the first string (or key) that is not valid UTF-8, or null. JsonDocument checks strings only when one is
    /// read, which would otherwise be a 500 wherever a handler reads it.
    /// </summary>
    private static string? InvalidText(JsonElement element, string path = "$")
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return null;
                case JsonValueKind.Array:
                    var index = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (InvalidText(item, $"{path}[{index++}]") is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (InvalidText(property.Value, $"{path}.{property.Name}") is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return path;
        }
    }

    public static string? OptionalString(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw OpenAiException.WrongType(name, "a string");
    }

    public static bool? OptionalBool(JsonElement body, string name, string? path = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw OpenAiException.WrongType(path ?? name, "a boolean"),
        };
    }

    public static double? OptionalNumber(JsonElement body, string name, double min, double max, string? path = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            throw OpenAiException.WrongType(path ?? name, "a number");
        }

        return number < min || number > max
            ? throw OpenAiException.Invalid(path ?? name, $"'{path ?? name}' must be between {min} and {max}, got {number}.")
            : number;
    }

    public static int? OptionalInteger(JsonElement body, string name, long min, long max, string? path = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw OpenAiException.WrongType(path ?? name, "an integer");
        }

        if (!value.TryGetInt64(out var number))
        {
            throw value.TryGetDouble(out var real) && Math.Abs(real) < 1e300 && real != Math.Floor(real)
                ? OpenAiException.WrongType(path ?? name, "an integer")
                : OpenAiException.Invalid(path ?? name, $"'{path ?? name}' must be between {min} and {max}.");
        }

        return number < min || number > max
            ? throw OpenAiException.Invalid(path ?? name, $"'{path ?? name}' must be between {min} and {max}, got {number}.")
            : (int)number;
    }

    private static OpenAiException TooLarge(long maxBytes) => new(StatusCodes.Status413PayloadTooLarge,
        $"The request body is larger than the server's limit of {maxBytes} bytes.", null, "request_too_large");
}
