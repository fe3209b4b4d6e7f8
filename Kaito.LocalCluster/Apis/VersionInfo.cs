using System.Globalization;
using System.Text.Json.Serialization;

namespace Kaito.LocalCluster.Apis;

/// <summary>The body of <c>/version</c>, as kube-apiserver writes it.</summary>
public sealed record VersionInfo(
    [property: JsonPropertyName("major")] string Major,
    [property: JsonPropertyName("minor")] string Minor,
    [property: JsonPropertyName("gitVersion")] string GitVersion,
    [property: JsonPropertyName("gitCommit")] string GitCommit,
    [property: JsonPropertyName("gitTreeState")] string GitTreeState,
    [property: JsonPropertyName("buildDate")] string BuildDate,
    [property: JsonPropertyName("goVersion")] string GoVersion,
    [property: JsonPropertyName("compiler")] string Compiler,
    [property: JsonPropertyName("platform")] string Platform)
{
    /// <summary>Builds the version body from a <c>vMAJOR.MINOR.PATCH</c> string.</summary>
    public static VersionInfo For(string gitVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(gitVersion);
        var parts = gitVersion.TrimStart('v').Split('.', '-', '+');
        if (parts.Length < 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out _) ||
            !int.TryParse(parts[1], CultureInfo.InvariantCulture, out _))
        {
            throw new InvalidOperationException($"LocalCluster:KubernetesVersion must look like v1.32.0; got '{gitVersion}'.");
        }

        return new VersionInfo(parts[0], parts[1], gitVersion, Kaito.Api.LocalClusterIdentity.GitCommit, "clean",
            "1970-01-01T00:00:00Z", "dotnet" + Environment.Version, "dotnet", "linux/amd64");
    }
}
