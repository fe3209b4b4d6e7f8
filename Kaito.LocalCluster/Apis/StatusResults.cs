using System.Text.Json.Serialization;

namespace Kaito.LocalCluster.Apis;

/// <summary>Errors as the API server writes them: a <c>Status</c> object with reason and code.</summary>
public static class StatusResults
{
    public static IResult Unauthorized() => Failure(StatusCodes.Status401Unauthorized, "Unauthorized", "Unauthorized");

    public static IResult Failure(int code, string reason, string message) =>
        TypedResults.Json(new Status(message, reason, code), statusCode: code);
}

/// <summary>The <c>meta/v1 Status</c> body of a failed request.</summary>
public sealed record Status(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("code")] int Code)
{
    [JsonPropertyName("kind")]
    public string Kind => "Status";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "v1";

    [JsonPropertyName("metadata")]
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    [JsonPropertyName("status")]
    public string Outcome => "Failure";
}
