using System.Net;
using System.Net.Sockets;

namespace Kaito.Api.Validation;

/// <summary>
/// KAITO's rules for data URLs: absolute http(s) with a host, and never a local, metadata-service, loopback, private or
/// link-local address (the download runs inside the cluster, where those reach things they should not).
/// </summary>
public static class DataSourceUrls
{
    private static readonly string[] s_blockedHosts =
        ["localhost", "metadata.google.internal", "metadata.google", "instance-data.ec2.internal"];

    /// <summary>Why <paramref name="url"/> is refused, or null when it is acceptable.</summary>
    public static string? Problem(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"URL '{url}' is not a valid absolute URL";
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return $"URL '{url}' must use http or https, not {uri.Scheme}";
        }

        var host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        if (host.Length == 0)
        {
            return $"URL '{url}' has no host";
        }

        if (s_blockedHosts.Contains(host) || host.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return $"URL '{url}' points at a local or metadata host ({host}), which is not allowed";
        }

        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IsInternal(address))
        {
            return $"URL '{url}' points at a loopback, private or link-local address ({address}), which is not allowed";
        }

        return null;
    }

    private static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes6 = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || (bytes6[0] & 0xFE) == 0xFC;
        }

        var b = address.GetAddressBytes();
        return b[0] == 10
            || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254);
    }
}
