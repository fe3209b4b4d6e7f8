using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;
using Microsoft.AspNetCore.Http.Features;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>pods/portforward</c>, as <c>kubectl port-forward</c> (pods and services) uses it: kubectl 1.31+ tunnels SPDY/3.1
/// in a WebSocket (subprotocol <c>SPDY/3.1+portforward.k8s.io</c>); older clients, and newer ones when the WebSocket
/// upgrade is refused, upgrade the HTTP/1.1 connection to SPDY itself (<c>Upgrade: SPDY/3.1</c>,
/// <c>X-Stream-Protocol-Version: portforward.k8s.io</c>). Inside, the kubelet's protocol (pkg/kubelet/cri/streaming/
/// portforward/httpstream.go): each forwarded connection is a pair of streams with the same <c>requestID</c> — an
/// <c>error</c> stream and a <c>data</c> stream naming the <c>port</c>; once both are there the pod's port is
/// connected on the pod's IP, bytes are copied both ways, and a failure is written to the error stream in the kubelet's
/// words. Only loopback addresses (every pod IP LocalCluster hands out) are ever connected to.
/// </summary>
internal static partial class PortForward
{
    public const string TunnelProtocol = "SPDY/3.1+portforward.k8s.io";
    public const string StreamProtocol = "portforward.k8s.io";

    /// <summary>Connections whose stream pair is not complete yet that one session may hold.</summary>
    private const int MaxPendingPairs = 256;

    public static async Task HandleAsync(HttpContext context, JsonObject pod, ILogger logger)
    {
        var name = (string?)pod["metadata"]?["name"] ?? "";
        var uid = (string?)pod["metadata"]?["uid"] ?? "";
        if ((string?)pod["status"]?["phase"] != "Running")
        {
            throw ApiException.BadRequest($"pod {name} is not running (phase {(string?)pod["status"]?["phase"] ?? "Pending"}), so its ports cannot be forwarded");
        }

        if (!IPAddress.TryParse((string?)pod["status"]?["podIP"], out var address) || !IPAddress.IsLoopback(address))
        {
            throw ApiException.BadRequest($"pod {name} has no loopback pod IP on LocalCluster, so its ports cannot be forwarded");
        }

        Stream transport;
        if (context.WebSockets.IsWebSocketRequest)
        {
            if (!context.WebSockets.WebSocketRequestedProtocols.Contains(TunnelProtocol, StringComparer.Ordinal))
            {
                throw ApiException.BadRequest($"none of the requested subprotocols [{string.Join(", ", context.WebSockets.WebSocketRequestedProtocols)}] is supported; use {TunnelProtocol}");
            }

            // ASP.NET Core refuses '/' in a subprotocol it is given (RFC 6455 wants a token), so the header kubectl
            // looks for is set directly; the handshake keeps it.
            context.Response.Headers.SecWebSocketProtocol = TunnelProtocol;
            var socket = await context.WebSockets.AcceptWebSocketAsync();
            transport = WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: true);
        }
        else if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade
            && context.Request.Headers.Upgrade.ToString().Equals("SPDY/3.1", StringComparison.OrdinalIgnoreCase))
        {
            if (!context.Request.Headers["X-Stream-Protocol-Version"].Contains(StreamProtocol))
            {
                throw ApiException.BadRequest($"none of the requested stream protocols [{context.Request.Headers["X-Stream-Protocol-Version"]}] is supported; use {StreamProtocol}");
            }

            context.Response.Headers.Connection = "Upgrade";
            context.Response.Headers.Upgrade = "SPDY/3.1";
            context.Response.Headers["X-Stream-Protocol-Version"] = StreamProtocol;
            transport = await upgrade.UpgradeAsync();
        }
        else
        {
            throw ApiException.BadRequest($"port-forward needs a WebSocket ({TunnelProtocol}) or an HTTP/1.1 upgrade to SPDY/3.1");
        }

        await using (transport)
        {
            await using var session = new SpdySession(transport);
            await new Forwarder(session, name, uid, address, logger).RunAsync(context.RequestAborted);
        }
    }

    private sealed class Forwarder(SpdySession session, string pod, string uid, IPAddress address, ILogger logger)
    {
        private readonly ConcurrentDictionary<string, Pair> _pairs = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<uint, Pair> _streams = new();
        private readonly List<Task> _connections = [];
        private uint _lastStream;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                while (await session.ReadFrameAsync(done.Token) is { } frame)
                {
                    if (!frame.IsControl)
                    {
                        if (_streams.TryGetValue(frame.StreamId, out var owner))
                        {
                            await owner.ReceiveAsync(frame.StreamId, frame.Payload, frame.Fin, done.Token);
                        }

                        continue;
                    }

                    switch (frame.Type)
                    {
                        case SpdySession.SynStream:
                            await OpenStreamAsync(frame, done.Token);
                            break;
                        case SpdySession.RstStream:
                            if (_streams.TryGetValue(frame.StreamId, out var reset))
                            {
                                reset.Abort();
                            }

                            break;
                        case SpdySession.Ping:
                            await session.PongAsync(frame.Payload, done.Token);
                            break;
                        case SpdySession.GoAway:
                            return;
                    }
                }
            }
            catch (Exception ex) when (ex is InvalidDataException)
            {
                LogProtocolError(logger, pod, ex.Message);
                await session.GoAwayAsync(_lastStream, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the client went away
            }
            finally
            {
                foreach (var pair in _pairs.Values)
                {
                    pair.Abort();
                }

                await done.CancelAsync();
                await Task.WhenAll(_connections).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        private async Task OpenStreamAsync(SpdyFrame frame, CancellationToken cancellationToken)
        {
            _lastStream = Math.Max(_lastStream, frame.StreamId);
            var headers = frame.Headers!;
            var type = headers.GetValueOrDefault("streamtype");
            var request = headers.GetValueOrDefault("requestid");
            if (type is not ("error" or "data") || string.IsNullOrEmpty(request)
                || !int.TryParse(headers.GetValueOrDefault("port"), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                await session.ResetAsync(frame.StreamId, SpdySession.ProtocolError, cancellationToken);
                return;
            }

            if (!_pairs.ContainsKey(request) && _pairs.Count >= MaxPendingPairs)
            {
                // A client that opens half-pairs and never completes them gets no more connections on this session.
                await session.ResetAsync(frame.StreamId, SpdySession.RefusedStream, cancellationToken);
                return;
            }

            await session.ReplyAsync(frame.StreamId, new Dictionary<string, string>(), cancellationToken);
            var pair = _pairs.GetOrAdd(request, _ => new Pair(session, pod, uid, port));
            _streams[frame.StreamId] = pair;
            if (pair.Add(type, frame.StreamId, frame.Fin))
            {
                _connections.RemoveAll(c => c.IsCompleted);
                _connections.Add(ForwardAsync(request, pair, cancellationToken));
            }
        }

        private async Task ForwardAsync(string request, Pair pair, CancellationToken cancellationToken)
        {
            try
            {
                await pair.ForwardAsync(address, cancellationToken);
            }
            finally
            {
                _pairs.TryRemove(request, out _);
                _streams.TryRemove(pair.DataStream, out _);
                _streams.TryRemove(pair.ErrorStream, out _);
                pair.Dispose();
            }
        }
    }

    /// <summary>One forwarded connection: its error and data streams and the socket to the pod's port.</summary>
    private sealed class Pair(SpdySession session, string pod, string uid, int port) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly System.Threading.Channels.Channel<(byte[] Data, bool Fin)> _fromClient =
            System.Threading.Channels.Channel.CreateBounded<(byte[], bool)>(64);
        private readonly CancellationTokenSource _aborted = new();

        public uint DataStream { get; private set; }

        public uint ErrorStream { get; private set; }

        /// <summary>Records a stream; true when the pair has just become complete.</summary>
        public bool Add(string type, uint stream, bool fin)
        {
            lock (_gate)
            {
                if (type == "data")
                {
                    DataStream = stream;
                    if (fin)
                    {
                        _fromClient.Writer.TryComplete();
                    }
                }
                else
                {
                    ErrorStream = stream;
                }

                return DataStream != 0 && ErrorStream != 0;
            }
        }

        public async Task ReceiveAsync(uint stream, byte[] data, bool fin, CancellationToken cancellationToken)
        {
            if (stream != DataStream)
            {
                return; // the client writes nothing on the error stream but its close
            }

            if (data.Length > 0)
            {
                await _fromClient.Writer.WriteAsync((data, false), cancellationToken);
            }

            if (fin)
            {
                _fromClient.Writer.TryComplete();
            }
        }

        public void Abort()
        {
            _fromClient.Writer.TryComplete();
            try
            {
                _aborted.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // already finished
            }
        }

        public void Dispose() => _aborted.Dispose();

        public async Task ForwardAsync(IPAddress address, CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _aborted.Token);
            var token = linked.Token;
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), token);
            }
            catch (SocketException ex)
            {
                var message = $"error forwarding port {port} to pod {pod}, uid {uid}: failed to connect to {address}:{port}: {ex.SocketErrorCode}";
                await session.WriteDataAsync(ErrorStream, Encoding.UTF8.GetBytes(message), fin: true, CancellationToken.None);
                await session.WriteDataAsync(DataStream, ReadOnlyMemory<byte>.Empty, fin: true, CancellationToken.None);
                return;
            }

            var upstream = CopyToPodAsync(socket, token);
            var downstream = CopyFromPodAsync(socket, token);
            await Task.WhenAll(upstream, downstream);
            await session.WriteDataAsync(ErrorStream, ReadOnlyMemory<byte>.Empty, fin: true, CancellationToken.None);
        }

        private async Task CopyToPodAsync(Socket socket, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var (data, _) in _fromClient.Reader.ReadAllAsync(cancellationToken))
                {
                    await socket.SendAsync(data, SocketFlags.None, cancellationToken);
                }

                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        private async Task CopyFromPodAsync(Socket socket, CancellationToken cancellationToken)
        {
            var buffer = new byte[SpdySession.MaxDataFrame];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
                {
                    await session.WriteDataAsync(DataStream, buffer.AsMemory(0, read), fin: false, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }

            try
            {
                await session.WriteDataAsync(DataStream, ReadOnlyMemory<byte>.Empty, fin: true, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or WebSocketException or ObjectDisposedException)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "port-forward to pod {Pod} ended: the client broke the SPDY protocol: {Reason}")]
    private static partial void LogProtocolError(ILogger logger, string pod, string reason);
}
