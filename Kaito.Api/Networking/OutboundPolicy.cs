using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Kaito.Api.Validation;

namespace Kaito.Api.Networking;

/// <summary>
/// Where Kaito's downloaders (the tuner's dataset download) may connect: public addresses only, checked on the address
/// a name resolves to, at connect time, before a socket is opened — so neither a DNS answer nor a redirect can point a
/// download at the node's metadata service, the cluster's services or loopback. Origins named explicitly (<c>--allowed-data-hosts
/// host:port</c>, e.g. a dataset server on the developer's machine) are exempt. Proxies are not used: through one, the
/// address the data comes from could not be checked.
/// </summary>
public sealed class OutboundPolicy
{
    private readonly HashSet<string> _allowedOrigins;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    /// <param name="allowedOrigins"><c>host:port</c> origins exempt from the address rule.</param>
    /// <param name="resolve">Name resolution (DNS by default); the tests and <c>--resolve</c> supply their own.</param>
    public OutboundPolicy(IEnumerable<string> allowedOrigins, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(allowedOrigins);
        _allowedOrigins = new HashSet<string>(allowedOrigins.Select(o => o.Trim().ToLowerInvariant()).Where(o => o.Length > 0), StringComparer.Ordinal);
        _resolve = resolve ?? ((host, cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken));
    }

    /// <summary>
    /// The policy of the tuner's options: <paramref name="allowedHosts"/> (<c>host:port,...</c>) and
    /// <paramref name="staticNames"/> (<c>name=address,...</c>, as curl's <c>--resolve</c>: resolved without DNS).
    /// </summary>
    public static OutboundPolicy FromOptions(string? allowedHosts, string? staticNames)
    {
        var names = new Dictionary<string, IPAddress>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in Split(staticNames))
        {
            var parts = entry.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0 || !IPAddress.TryParse(parts[1], out var address))
            {
                throw new ArgumentException($"--resolve entry '{entry}' must be name=address");
            }

            names[parts[0]] = address;
        }

        foreach (var origin in Split(allowedHosts))
        {
            if (!origin.Contains(':', StringComparison.Ordinal))
            {
                throw new ArgumentException($"--allowed-data-hosts entry '{origin}' must be host:port");
            }
        }

        return new OutboundPolicy(Split(allowedHosts), names.Count == 0 ? null : (host, cancellationToken) =>
            names.TryGetValue(host, out var fixedAddress) ? Task.FromResult(new[] { fixedAddress }) : Dns.GetHostAddressesAsync(host, cancellationToken));
    }

    /// <summary>Whether <paramref name="uri"/>'s origin is exempt from the address rule.</summary>
    public bool IsExempt(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return _allowedOrigins.Contains(Origin(uri.IdnHost, uri.Port));
    }

    /// <summary>Why a download may not start at <paramref name="uri"/>, or null: KAITO's URL rule unless the origin is exempt.</summary>
    public string? Problem(Uri uri) => IsExempt(uri) ? null : DataSourceUrls.Problem(uri);

    /// <summary>An HTTP handler that connects only as this policy allows and follows no redirects (the downloader checks each).</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = ConnectAsync,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await _resolve(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new RefusedConnectionException($"{host} does not resolve to any address");
        }

        if (!_allowedOrigins.Contains(Origin(host, port)))
        {
            // Every address is checked, not only the one used: a name that answers with a public and an internal address is refused.
            foreach (var address in addresses)
            {
                if (DataSourceUrls.AddressProblem(address) is { } problem)
                {
                    throw new RefusedConnectionException(
                        $"connecting to {host}:{port.ToString(CultureInfo.InvariantCulture)} was refused: it resolves to {problem}, which downloads may not reach");
                }
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Origin(string host, int port) => $"{host.Trim('[', ']').TrimEnd('.').ToLowerInvariant()}:{port.ToString(CultureInfo.InvariantCulture)}";

    private static string[] Split(string? list) =>
        string.IsNullOrWhiteSpace(list) ? [] : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>A connection the <see cref="OutboundPolicy"/> refused; no socket was opened.</summary>
public sealed class RefusedConnectionException(string message) : IOException(message);
