using System.Text.RegularExpressions;

namespace Kaito.Api.Validation;

/// <summary>Kubernetes' name rules (DNS-1123 label and subdomain).</summary>
public static partial class KubernetesNames
{
    /// <summary>A DNS-1123 label: at most 63 lowercase alphanumerics or '-', starting and ending alphanumeric.</summary>
    public static bool IsDns1123Label(string? name) => name is { Length: > 0 and <= 63 } && Label().IsMatch(name);

    /// <summary>A DNS-1123 subdomain: at most 253 characters of dot-separated labels.</summary>
    public static bool IsDns1123Subdomain(string? name) => name is { Length: > 0 and <= 253 } && Subdomain().IsMatch(name);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Label();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Subdomain();
}
