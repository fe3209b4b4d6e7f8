using System.Text.Json.Nodes;
using Kaito.InferenceServer.Serving;

namespace Kaito.InferenceServer.Apis;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the base model and every served adapter.</summary>
public static class ModelsApi
{
    private static readonly long Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/v1/models", (ModelRegistry registry) =>
        {
            var baseName = registry.Base?.Name;
            return TypedResults.Json(new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray([.. registry.Models.Select(m => (JsonNode)Describe(m.Name, baseName))]),
            });
        });
        endpoints.MapGet("/v1/models/{id}", (string id, ModelRegistry registry) => registry.TryGet(id, out var model)
            ? Results.Json(Describe(model.Name, registry.Base?.Name))
            : OpenAiErrors.Result(new OpenAiException(StatusCodes.Status404NotFound, $"The model `{id}` does not exist.", "model", "model_not_found")));
        return endpoints;
    }

    private static JsonObject Describe(string name, string? baseName) => new()
    {
        ["id"] = name,
        ["object"] = "model",
        ["created"] = Created,
        ["owned_by"] = "kaito",
        ["root"] = name,
        ["parent"] = name == baseName ? null : baseName,
    };
}
