using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// A loopback kube-proxy: every Service port listens on its ClusterIP (and a NodePort or LoadBalancer Service's node
/// port on 127.0.0.1) and forwards each TCP connection to one of the Service's ready endpoints, in turn, as
/// kube-proxy's round robin does. A Service without ready endpoints refuses connections by closing them. Endpoints
/// are only ever loopback addresses, and the proxy connects to nothing else. A port it cannot listen on (below 1024
/// without the privilege to bind it) is reported as a Warning event on the Service.
/// </summary>
public sealed partial class ServiceProxy(ClusterStore store, IOptions<KubeletOptions> options, TimeProvider clock, ILogger<ServiceProxy> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Listener> _listeners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _failed = new(StringComparer.Ordinal);
    private readonly StoreSyncLoop _loop = new(store, ["/services"], TimeSpan.FromSeconds(5));
    private long _turn;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        try
        {
            await _loop.RunAsync(Sync, ex => LogSyncFailed(logger, ex), stoppingToken);
        }
        finally
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Dispose();
            }

            _listeners.Clear();
        }
    }

    public override void Dispose()
    {
        _loop.Dispose();
        base.Dispose();
    }

    private void Sync()
    {
        var wanted = new Dictionary<string, (JsonObject Service, JsonObject Port, IPEndPoint Bind)>(StringComparer.Ordinal);
        foreach (var service in store.List(Kinds.Service.GroupResource, null).Items.Where(s => !Objects.IsDeleting(s)))
        {
            if (!IPAddress.TryParse((string?)service["spec"]?["clusterIP"], out var clusterIp) || !IPAddress.IsLoopback(clusterIp))
            {
                continue; // headless, or not allocated yet
            }

            foreach (var port in service["spec"]?["ports"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (((string?)port["protocol"] ?? "TCP") != "TCP" || JsonNumbers.ReadInt(port["port"]) is not { } number)
                {
                    continue;
                }

                var bind = new IPEndPoint(clusterIp, number);
                wanted[bind.ToString()] = (service, port, bind);
                if (JsonNumbers.ReadInt(port["nodePort"]) is { } nodePort and > 0 && (string?)service["spec"]?["type"] is "NodePort" or "LoadBalancer")
                {
                    var node = new IPEndPoint(IPAddress.Loopback, nodePort);
                    wanted[node.ToString()] = (service, port, node);
                }
            }
        }

        foreach (var (address, listener) in _listeners)
        {
            if (!wanted.TryGetValue(address, out var entry) || entry.Service["metadata"]?["uid"]?.ToString() != listener.ServiceUid)
            {
                _listeners.TryRemove(address, out _);
                listener.Dispose();
            }
        }

        foreach (var (address, (service, port, bind)) in wanted)
        {
            if (_listeners.ContainsKey(address))
            {
                continue;
            }

            var key = new ObjectKey(Kinds.Endpoints.GroupResource, Objects.Namespace(service), Objects.Name(service));
            var portName = (string?)port["name"];
            try
            {
                _listeners[address] = new Listener(bind, Objects.Uid(service), () => Pick(key, portName), logger);
                _failed.TryRemove(address, out _);
            }
            catch (SocketException ex)
            {
                var reason = ex.SocketErrorCode == SocketError.AccessDenied
                    ? $"LocalCluster could not listen on {address} for Service {Objects.Namespace(service)}/{Objects.Name(service)}: ports below 1024 need root, CAP_NET_BIND_SERVICE or a lower net.ipv4.ip_unprivileged_port_start"
                    : $"LocalCluster could not listen on {address} for Service {Objects.Namespace(service)}/{Objects.Name(service)}: {ex.Message}";
                if (_failed.TryAdd(address, reason))
                {
                    EventRecorder.Record(new SimulationContext(store, clock, new SimulationOptions()), service, "Warning", "FailedToListen", reason);
                    LogListenFailed(logger, reason);
                }
            }
        }
    }

    /// <summary>The next ready endpoint of the Service (round robin), or null when it has none.</summary>
    private IPEndPoint? Pick(ObjectKey endpointsKey, string? portName)
    {
        var candidates = new List<IPEndPoint>();
        foreach (var subset in store.Get(endpointsKey)?["subsets"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var port = subset["ports"]?.AsArray().OfType<JsonObject>().FirstOrDefault(p => (string?)p["name"] == portName || portName is null);
            if (port is null || JsonNumbers.ReadInt(port["port"]) is not { } number)
            {
                continue;
            }

            foreach (var address in subset["addresses"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (IPAddress.TryParse((string?)address["ip"], out var ip) && IPAddress.IsLoopback(ip))
                {
                    candidates.Add(new IPEndPoint(ip, number));
                }
            }
        }

        return candidates.Count == 0 ? null : candidates[(int)(Interlocked.Increment(ref _turn) % candidates.Count)];
    }

    /// <summary>One listening address, forwarding every connection it accepts.</summary>
    private sealed partial class Listener : IDisposable
    {
        private readonly Socket _socket;
        private readonly CancellationTokenSource _stop = new();
        private readonly Func<IPEndPoint?> _pick;
        private readonly ILogger _logger;

        public Listener(IPEndPoint bind, string serviceUid, Func<IPEndPoint?> pick, ILogger logger)
        {
            ServiceUid = serviceUid;
            _pick = pick;
            _logger = logger;
            _socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                _socket.Bind(bind);
                _socket.Listen(512);
            }
            catch
            {
                _socket.Dispose();
                throw;
            }

            _ = AcceptAsync();
        }

        public string ServiceUid { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _socket.AcceptAsync(token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = ForwardAsync(client, token);
            }
        }

        private async Task ForwardAsync(Socket client, CancellationToken token)
        {
            using (client)
            {
                if (_pick() is not { } target)
                {
                    return; // no ready endpoint: refused
                }

                using var upstream = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    using var connect = CancellationTokenSource.CreateLinkedTokenSource(token);
                    connect.CancelAfter(TimeSpan.FromSeconds(10));
                    await upstream.ConnectAsync(target, connect.Token);
                    client.NoDelay = upstream.NoDelay = true;
                    await using var down = new NetworkStream(client, ownsSocket: false);
                    await using var up = new NetworkStream(upstream, ownsSocket: false);
                    var toUpstream = Pump(down, up, upstream, token);
                    var toClient = Pump(up, down, client, token);
                    await Task.WhenAll(toUpstream, toClient);
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
                {
                    LogForwardFailed(_logger, target, ex.Message);
                }
            }
        }

        /// <summary>Copies one direction, then half-closes the other side so the peer sees the end of the stream.</summary>
        private static async Task Pump(NetworkStream from, NetworkStream to, Socket toSocket, CancellationToken token)
        {
            try
            {
                await from.CopyToAsync(to, token);
            }
            finally
            {
                try
                {
                    toSocket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // already closed
                }
            }
        }

        [LoggerMessage(Level = LogLevel.Debug, Message = "Forwarding to {Target} ended: {Reason}")]
        private static partial void LogForwardFailed(ILogger logger, IPEndPoint target, string reason);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The service proxy's sync failed")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reason}")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
