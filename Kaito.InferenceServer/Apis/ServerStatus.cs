using System.Text.Json.Serialization;

namespace Kaito.InferenceServer.Apis;

public sealed record ServerStatus([property: JsonPropertyName("message")] string Message);
