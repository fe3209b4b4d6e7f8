using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Kubelet;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>pods/exec</c> and <c>pods/attach</c> over the WebSocket channel protocols kubectl 1.30+ speaks first
/// (<c>v5.channel.k8s.io</c>, and <c>v4.channel.k8s.io</c>): each binary message starts with its channel — 0 stdin,
/// 1 stdout, 2 stderr, 3 the final Status (with the exit code), 4 terminal resize, 255 (v5) closing a channel.
/// exec runs the command in the container's namespaces with its environment (a pseudo-terminal from util-linux's
/// <c>script</c> when a TTY is asked for); attach streams the container's output from the start of its current run
/// (so a short command's output is never lost to the race between start and attach) and feeds its stdin.
/// SPDY is not spoken: a client that cannot use WebSockets gets a 400 saying so.
/// </summary>
internal static class ContainerStreams
{
    private static readonly string[] s_protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

    private const byte Stdin = 0;
    private const byte Stdout = 1;
    private const byte Stderr = 2;
    private const byte Error = 3;
    private const byte Resize = 4;
    private const byte Close = 255;

    public static async Task HandleAsync(HttpContext context, LocalKubelet kubelet, JsonObject pod, bool attach)
    {
        var query = context.Request.Query;
        var name = (string?)pod["metadata"]?["name"] ?? "";
        var container = PodLogs.Container(pod, query);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest("LocalCluster streams exec and attach over WebSockets (v5.channel.k8s.io, v4.channel.k8s.io) only, not SPDY");
        }

        var protocol = context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(p => s_protocols.Contains(p, StringComparer.Ordinal))
            ?? throw ApiException.BadRequest($"none of the requested subprotocols [{string.Join(", ", context.WebSockets.WebSocketRequestedProtocols)}] is supported; use v5.channel.k8s.io or v4.channel.k8s.io");
        var record = kubelet.Container((string)pod["metadata"]!["uid"]!, container);
        if (record?.Process is not { HasExited: false } process)
        {
            throw ApiException.BadRequest(record is null
                ? $"pod {name} does not run processes on LocalCluster (it is simulated), so there is nothing to {(attach ? "attach to" : "exec in")}"
                : $"container {container} is not running");
        }

        var tty = query["tty"] == "true";
        var stdin = query["stdin"] == "true";
        var command = query["command"].Where(c => c is not null).Select(c => c!).ToList();
        if (!attach && command.Count == 0)
        {
            throw ApiException.BadRequest("you must specify at least 1 command");
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(protocol);
        using var channels = new Channels(socket);
        try
        {
            var exit = attach
                ? await AttachAsync(channels, record, process, stdin, tty, context.RequestAborted)
                : await ExecAsync(channels, record, process.Pid, command, stdin, tty, kubelet.Rootless, context.RequestAborted);
            // attach ends with Success whatever the exit code, as the kubelet's does; kubectl reads that from the pod
            await channels.SendAsync(Error, Encoding.UTF8.GetBytes(Status(attach ? 0 : exit, command).ToJsonString()), CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // the client went away
        }
    }

    private static async Task<int> ExecAsync(Channels channels, ContainerRecord record, int pid, List<string> command, bool stdin, bool tty, bool rootless, CancellationToken cancellationToken)
    {
        List<string> enter = ["nsenter", "--target", pid.ToString(CultureInfo.InvariantCulture), "--mount", "--uts", "--root", $"--wd={record.WorkingDirectory}"];
        if (rootless)
        {
            enter.AddRange(["--user", "--preserve-credentials"]);
        }

        enter.Add("--");
        enter.AddRange(command);
        // A terminal when asked: util-linux's script gives the command a pty and copies it to its own stdio.
        var argv = tty ? ["script", "-qfe", "-c", string.Join(' ', enter.Select(ContainerSandbox.Quote)), "/dev/null"] : enter;
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        foreach (var (key, value) in record.Environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["SHELL"] = "/bin/sh";
        using var process = Process.Start(start)!;
        var input = stdin ? PumpInput(channels, () => process.StandardInput.BaseStream, () => process.StandardInput.Close(), cancellationToken) : Task.CompletedTask;
        if (!stdin)
        {
            process.StandardInput.Close();
        }

        var output = Task.WhenAll(
            PumpOutput(process.StandardOutput.BaseStream, channels, Stdout, cancellationToken),
            PumpOutput(process.StandardError.BaseStream, channels, tty ? Stdout : Stderr, cancellationToken));
        using var stop = cancellationToken.Register(() =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
        });
        await process.WaitForExitAsync(CancellationToken.None);
        await output;
        _ = input;
        return process.ExitCode;
    }

    private static async Task<int> AttachAsync(Channels channels, ContainerRecord record, ContainerProcess process, bool stdin, bool tty, CancellationToken cancellationToken)
    {
        var input = stdin && process.Stdin is not null
            ? PumpInput(channels, () => process.Stdin, () =>
            {
                if (record.Spec["stdinOnce"]?.GetValue<bool>() == true)
                {
                    process.CloseStdin();
                }
            }, cancellationToken)
            : Task.CompletedTask;

        // The current run's output from its start, then as it comes, until the container ends.
        // (until its output is complete, not merely until it exited: its last lines may still be on their way to the log)
        await ContainerLogs.FollowAsync(record.LogPath!, fromEnd: false, () => !process.OutputComplete, async line =>
        {
            var channel = tty || line.Stream == "stdout" ? Stdout : Stderr;
            await channels.SendAsync(channel, Encoding.UTF8.GetBytes(line.Partial ? line.Text : line.Text + "\n"), cancellationToken);
            return true;
        }, cancellationToken);

        _ = input;
        return 0;
    }

    /// <summary>Feeds the client's stdin channel to <paramref name="target"/> until the client closes it.</summary>
    private static async Task PumpInput(Channels channels, Func<Stream?> target, Action closed, CancellationToken cancellationToken)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var (data, type) = await channels.ReceiveAsync(buffer, cancellationToken);
                if (type == WebSocketMessageType.Close)
                {
                    break;
                }

                if (data.Length == 0)
                {
                    continue;
                }

                if (data.Span[0] == Stdin && target() is { } stream)
                {
                    await stream.WriteAsync(data[1..], cancellationToken);
                    await stream.FlushAsync(cancellationToken);
                }
                else if (data.Span[0] == Close && data.Length > 1 && data.Span[1] == Stdin)
                {
                    break;
                }
                else if (data.Span[0] == Resize)
                {
                    // no terminal size to set on a pipe; script's pty keeps its default
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // the client or the process went away
        }
        finally
        {
            closed();
        }
    }

    private static async Task PumpOutput(Stream source, Channels channels, byte channel, CancellationToken cancellationToken)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await channels.SendAsync(channel, buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
        {
            // the client or the process went away
        }
    }

    /// <summary>The final Status kube-apiserver sends on the error channel: Success, or the exit code as a cause.</summary>
    private static JsonObject Status(int exit, List<string> command) => exit == 0
        ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
        : new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = string.Create(CultureInfo.InvariantCulture, $"command terminated with non-zero exit code: error executing command [{string.Join(' ', command)}], exit code {exit}"),
            ["reason"] = "NonZeroExitCode",
            ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = exit.ToString(CultureInfo.InvariantCulture) }) },
        };

    /// <summary>The socket with one sender at a time and the channel byte in front of every message.</summary>
    private sealed class Channels(WebSocket socket) : IDisposable
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public void Dispose() => _send.Dispose();

        public async Task SendAsync(byte channel, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            var message = new byte[data.Length + 1];
            message[0] = channel;
            data.CopyTo(message.AsMemory(1));
            await _send.WaitAsync(cancellationToken);
            try
            {
                await socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task<(ReadOnlyMemory<byte> Data, WebSocketMessageType Type)> ReceiveAsync(byte[] buffer, CancellationToken cancellationToken)
        {
            var length = 0;
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                length += result.Count;
                if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close || length == buffer.Length)
                {
                    return (buffer.AsMemory(0, length), result.MessageType);
                }
            }
        }
    }
}
