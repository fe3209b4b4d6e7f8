using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kaito.Oci;

/// <summary>Credentials from a docker config JSON (a <c>kubernetes.io/dockerconfigjson</c> secret, mounted).</summary>
public static class DockerConfig
{
    /// <summary>The credentials the config holds for <paramref name="registry"/>, or null.</summary>
    /// <exception cref="InvalidDataException">The file is not a docker config (naming what is wrong), or cannot be read.</exception>
    public static (string User, string Password)? CredentialsFor(string path, string registry)
    {
        try
        {
            return Read(path, registry);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"docker config {path} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>The credentials the config JSON <paramref name="json"/> (read from <paramref name="source"/>, for messages) holds for <paramref name="registry"/>, or null.</summary>
    /// <exception cref="InvalidDataException">It is not a docker config, naming what is wrong.</exception>
    public static (string User, string Password)? CredentialsFor(string json, string source, string registry)
    {
        try
        {
            return Parse(json, source, registry);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"docker config {source} cannot be used: {e.Message}", e);
        }
    }

    private static (string User, string Password)? Read(string path, string registry) => Parse(File.ReadAllText(path), path, registry);

    private static (string User, string Password)? Parse(string json, string path, string registry)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException("empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or InvalidDataException)
        {
            throw new InvalidDataException($"docker config {path} is not valid JSON: {e.Message}", e);
        }

        var auths = root["auths"]?.AsObject();
        if (auths is null)
        {
            return null;
        }

        foreach (var (key, value) in auths)
        {
            var host = key.Replace("https://", "", StringComparison.Ordinal).Replace("http://", "", StringComparison.Ordinal).TrimEnd('/');
            host = host.EndsWith("/v1", StringComparison.Ordinal) || host.EndsWith("/v2", StringComparison.Ordinal) ? host[..^3] : host;
            if (!string.Equals(host, registry, StringComparison.OrdinalIgnoreCase)
                && !(registry == "registry-1.docker.io" && host is "index.docker.io" or "docker.io"))
            {
                continue;
            }

            if (value?["auth"]?.GetValue<string>() is { Length: > 0 } encoded)
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return (decoded[..colon], decoded[(colon + 1)..]);
                }
            }

            if (value?["username"]?.GetValue<string>() is { } user && value["password"]?.GetValue<string>() is { } password)
            {
                return (user, password);
            }
        }

        return null;
    }
}
