using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// A running container's startup, liveness and readiness probes as the kubelet's prober runs them: httpGet (2xx and
/// 3xx pass), tcpSocket and exec (run in the container's namespaces), with initialDelaySeconds, periodSeconds,
/// timeoutSeconds and the success and failure thresholds. Readiness sets the container's ready flag; a failed startup
/// or liveness probe restarts it. Probes reach loopback only: a probe whose host is anything else fails, saying so.
/// </summary>
internal sealed class ContainerProbes(PodWorker worker, ContainerRecord record, string podIp, KubeletRuntime runtime)
{
    private static readonly HttpClient s_http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
#pragma warning disable CA5359 // the kubelet's prober does not verify certificates (probes carry no secrets; pods serve self-signed ones)
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
    });

    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        ProbeAsync("startupProbe", cancellationToken),
        ProbeAsync("livenessProbe", cancellationToken),
        ProbeAsync("readinessProbe", cancellationToken));

    private async Task ProbeAsync(string kind, CancellationToken cancellationToken)
    {
        if (record.Spec[kind] is not JsonObject probe)
        {
            return;
        }

        var period = TimeSpan.FromSeconds(Math.Max(1, JsonNumbers.ReadLong(probe["periodSeconds"]) ?? 10));
        var timeout = TimeSpan.FromSeconds(Math.Max(1, JsonNumbers.ReadLong(probe["timeoutSeconds"]) ?? 1));
        var successThreshold = Math.Max(1, JsonNumbers.ReadLong(probe["successThreshold"]) ?? 1);
        var failureThreshold = Math.Max(1, JsonNumbers.ReadLong(probe["failureThreshold"]) ?? 3);
        var name = kind switch { "startupProbe" => "Startup", "livenessProbe" => "Liveness", _ => "Readiness" };
        if (kind != "startupProbe")
        {
            while (!record.Started)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), runtime.Clock, cancellationToken);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(JsonNumbers.ReadLong(probe["initialDelaySeconds"]) ?? 0), runtime.Clock, cancellationToken);
        long successes = 0, failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var (ok, message) = await RunProbeAsync(probe, timeout, cancellationToken);
            if (ok)
            {
                failures = 0;
                if (++successes >= successThreshold)
                {
                    if (kind == "startupProbe")
                    {
                        record.Started = true;
                        record.Ready = record.Spec["readinessProbe"] is null;
                        worker.Publish();
                        return;
                    }

                    if (kind == "readinessProbe" && !record.Ready)
                    {
                        record.Ready = true;
                        worker.Publish();
                    }
                }
            }
            else
            {
                successes = 0;
                worker.Record("Warning", "Unhealthy", $"{name} probe failed: {message}");
                if (++failures >= failureThreshold)
                {
                    if (kind == "readinessProbe")
                    {
                        if (record.Ready)
                        {
                            record.Ready = false;
                            worker.Publish();
                        }
                    }
                    else
                    {
                        worker.Record("Normal", "Killing", $"Container {record.Name} failed {name.ToLowerInvariant()} probe, will be restarted");
                        var grace = JsonNumbers.ReadLong(probe["terminationGracePeriodSeconds"]) ?? 30;
                        await worker.TerminateAsync(record, TimeSpan.FromSeconds(grace), $"failed {name.ToLowerInvariant()} probe");
                        return;
                    }
                }
            }

            await Task.Delay(period, runtime.Clock, cancellationToken);
        }
    }

    private async Task<(bool Ok, string? Message)> RunProbeAsync(JsonObject probe, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            if (probe["httpGet"] is JsonObject http)
            {
                var host = (string?)http["host"] is { Length: > 0 } h ? h : podIp;
                if (!IPAddress.TryParse(host, out var address) || !IPAddress.IsLoopback(address))
                {
                    return (false, $"probe host {host} is not a loopback address; LocalCluster's kubelet probes nothing else");
                }

                var scheme = ((string?)http["scheme"] ?? "HTTP").ToLowerInvariant();
                var path = (string?)http["path"] ?? "/";
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{host}:{Port(http["port"])}{(path.StartsWith('/') ? path : "/" + path)}");
                request.Headers.UserAgent.ParseAdd("kube-probe/1.32");
                foreach (var header in http["httpHeaders"]?.AsArray().OfType<JsonObject>() ?? [])
                {
                    request.Headers.TryAddWithoutValidation((string?)header["name"] ?? "", (string?)header["value"] ?? "");
                }

                using var response = await s_http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                var code = (int)response.StatusCode;
                return code is >= 200 and < 400 ? (true, null) : (false, $"HTTP probe failed with statuscode: {code}");
            }

            if (probe["tcpSocket"] is JsonObject tcp)
            {
                var host = (string?)tcp["host"] is { Length: > 0 } h ? h : podIp;
                if (!IPAddress.TryParse(host, out var address) || !IPAddress.IsLoopback(address))
                {
                    return (false, $"probe host {host} is not a loopback address; LocalCluster's kubelet probes nothing else");
                }

                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(address, Port(tcp["port"])), deadline.Token);
                return (true, null);
            }

            if (probe["exec"] is JsonObject exec)
            {
                return await ExecAsync(ContainerImages.Strings(exec["command"]) ?? [], deadline.Token);
            }

            return (false, "the probe has no handler");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, $"the probe timed out after {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s");
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException)
        {
            return (false, ex.Message);
        }
    }

    /// <summary>Runs a command in the container's mount and UTS namespaces, at its root; exit 0 passes.</summary>
    private async Task<(bool, string?)> ExecAsync(List<string> command, CancellationToken cancellationToken)
    {
        if (record.Process is not { } process || command.Count == 0)
        {
            return (false, "the container is not running");
        }

        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["--target", process.Pid.ToString(CultureInfo.InvariantCulture), "--mount", "--uts", "--root", "--wd"])
        {
            start.ArgumentList.Add(arg);
        }

        if (runtime.Rootless)
        {
            start.ArgumentList.Add("--user");
            start.ArgumentList.Add("--preserve-credentials");
        }

        start.ArgumentList.Add("--");
        foreach (var arg in command)
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = child.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await child.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }

        var text = ((await output) + (await error)).Trim();
        return child.ExitCode == 0 ? (true, null) : (false, text.Length > 0 ? text : $"command exited with {child.ExitCode}");
    }

    private int Port(JsonNode? port)
    {
        if (JsonNumbers.ReadLong(port) is { } number)
        {
            return (int)number;
        }

        var name = port?.ToString();
        return (int)(record.Spec["ports"]?.AsArray().OfType<JsonObject>()
            .Where(p => (string?)p["name"] == name)
            .Select(p => JsonNumbers.ReadLong(p["containerPort"]))
            .FirstOrDefault() ?? throw new IOException($"the container has no port named {name}"));
    }
}
