using System.Net;
using System.Net.Sockets;

namespace Kaito.Api.Validation;

/// <summary>
/// KAITO's rules for data URLs (api/v1beta1/workspace_validation.go, validateDataSourceURL) made stricter: absolute
/// http(s) with a host, never a local or metadata host name, and never an address that is not public — loopback,
/// private, shared (CGNAT), link-local, benchmark, reserved, multicast, Azure's wireserver, and IPv6 forms that embed
/// such an IPv4 address (mapped, NAT64, 6to4). Names are checked again where they are resolved: the downloader refuses
/// a connection to a forbidden address (<see cref="AddressProblem"/>) however the name resolved or redirected.
/// </summary>
public static class DataSourceUrls
{
    private static readonly string[] s_blockedHosts =
        ["localhost", "metadata.google.internal", "metadata.google", "instance-data.ec2.internal", "metadata.azure.com"];

    // IPv4 ranges that are not public internet addresses (RFC 6890 and Azure's wireserver).
    private static readonly (IPAddress Network, int Prefix, string What)[] s_ipv4 =
    [
        (IPAddress.Parse("0.0.0.0"), 8, "an unspecified (\"this network\")"),
        (IPAddress.Parse("10.0.0.0"), 8, "a private"),
        (IPAddress.Parse("100.64.0.0"), 10, "a shared (carrier-grade NAT)"),
        (IPAddress.Parse("127.0.0.0"), 8, "a loopback"),
        (IPAddress.Parse("168.63.129.16"), 32, "Azure's wireserver"),
        (IPAddress.Parse("169.254.0.0"), 16, "a link-local (cloud metadata)"),
        (IPAddress.Parse("172.16.0.0"), 12, "a private"),
        (IPAddress.Parse("192.0.0.0"), 24, "an IETF protocol"),
        (IPAddress.Parse("192.0.2.0"), 24, "a documentation"),
        (IPAddress.Parse("192.88.99.0"), 24, "a 6to4 relay"),
        (IPAddress.Parse("192.168.0.0"), 16, "a private"),
        (IPAddress.Parse("198.18.0.0"), 15, "a benchmarking"),
        (IPAddress.Parse("198.51.100.0"), 24, "a documentation"),
        (IPAddress.Parse("203.0.113.0"), 24, "a documentation"),
        (IPAddress.Parse("224.0.0.0"), 4, "a multicast"),
        (IPAddress.Parse("240.0.0.0"), 4, "a reserved"),
    ];

    /// <summary>Why <paramref name="url"/> is refused, or null when it is acceptable.</summary>
    public static string? Problem(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"URL '{Redact(url)}' is not a valid absolute URL";
        }

        return Problem(uri);
    }

    /// <summary>Why <paramref name="uri"/> is refused, or null when it is acceptable.</summary>
    public static string? Problem(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var shown = Redact(uri);
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return $"URL '{shown}' must use http or https, not {uri.Scheme}";
        }

        var host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        if (host.Length == 0)
        {
            return $"URL '{shown}' has no host";
        }

        if (s_blockedHosts.Contains(host) || host.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return $"URL '{shown}' points at a local or metadata host ({host}), which is not allowed";
        }

        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && AddressProblem(address) is { } problem)
        {
            return $"URL '{shown}' points at {problem}, which is not allowed";
        }

        return null;
    }

    /// <summary>
    /// Why a connection to <paramref name="address"/> is refused ("a loopback address (127.0.0.1)"), or null for a
    /// public address.
    /// </summary>
    public static string? AddressProblem(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var v4 = Embedded(address);
        if (v4 is not null)
        {
            return Ipv4Problem(v4) is { } what ? $"{what} address ({address})" : null;
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return $"a non-IP address ({address})";
        }

        var bytes = address.GetAddressBytes();
        string? kind = address.Equals(IPAddress.IPv6Loopback) ? "a loopback"
            : address.Equals(IPAddress.IPv6Any) ? "an unspecified"
            : address.IsIPv6LinkLocal ? "a link-local"
            : address.IsIPv6SiteLocal ? "a site-local"
            : address.IsIPv6Multicast ? "a multicast"
            : (bytes[0] & 0xFE) == 0xFC ? "a unique-local (private)"
            : bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 ? "a documentation"
            : bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0 ? "a Teredo tunnel"
            : bytes.Take(12).All(b => b == 0) ? "an IPv4-compatible"
            : null;
        return kind is null ? null : $"{kind} address ({address})";
    }

    /// <summary>The URL without its query and fragment (SAS tokens and signed-URL secrets live there), for messages and logs.</summary>
    public static string Redact(string? url) =>
        url is null ? "" : Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Redact(uri) : url.Split('?', '#')[0];

    /// <summary>The URL without its query and fragment, for messages and logs.</summary>
    public static string Redact(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            return uri.OriginalString.Split('?', '#')[0];
        }

        var withoutSecrets = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        // Schemes without a query component (ftp, file) keep the '?' in the path, escaped.
        var escapedQuery = withoutSecrets.IndexOf("%3F", StringComparison.OrdinalIgnoreCase);
        return escapedQuery >= 0 ? withoutSecrets[..escapedQuery] + "?…"
            : uri.Query.Length > 1 ? withoutSecrets + "?…"
            : withoutSecrets;
    }

    /// <summary>The IPv4 address an address is or embeds (mapped, NAT64, 6to4), or null for other IPv6 addresses.</summary>
    private static IPAddress? Embedded(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return address;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        var b = address.GetAddressBytes();
        // NAT64, well-known and local-use prefixes (RFC 6052, RFC 8215): the IPv4 address is the last four bytes.
        if ((b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.Skip(4).Take(8).All(x => x == 0))
            || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0x00 && b[5] == 0x01))
        {
            return new IPAddress(b[12..16]);
        }

        // 6to4 (2002::/16): the IPv4 address follows the prefix.
        return b[0] == 0x20 && b[1] == 0x02 ? new IPAddress(b[2..6]) : null;
    }

    private static string? Ipv4Problem(IPAddress address)
    {
        var value = ToUInt32(address);
        foreach (var (network, prefix, what) in s_ipv4)
        {
            var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
            if ((value & mask) == (ToUInt32(network) & mask))
            {
                return what;
            }
        }

        return address.Equals(IPAddress.Broadcast) ? "a broadcast" : null;
    }

    private static uint ToUInt32(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }
}
