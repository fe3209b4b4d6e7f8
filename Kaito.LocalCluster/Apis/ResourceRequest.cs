using Kaito.LocalCluster.Resources;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>A parsed resource URL: <c>/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}</c> and its variants.</summary>
public sealed record ResourceRequest(ResourceType Type, string Version, string? Namespace, string? Name, string? Subresource)
{
    public ObjectKey Key => new(Type.GroupResource, Type.Namespaced ? Namespace ?? "" : "", Name!);

    public string ApiVersion => Type.ApiVersionFor(Version);

    public static ResourceRequest Parse(ResourceRegistry registry, string group, string version, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length >= 3 && segments[0] == "namespaces" && registry.Find(group, version, segments[2]) is { Namespaced: true } namespaced)
        {
            return new ResourceRequest(namespaced, version, segments[1], At(segments, 3), At(segments, 4));
        }

        if (segments.Length == 0 || segments.Length > 3 || registry.Find(group, version, segments[0]) is not { } type)
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }

        return new ResourceRequest(type, version, null, At(segments, 1), At(segments, 2));
    }

    private static string? At(string[] segments, int index) => index < segments.Length ? segments[index] : null;
}
