using System.Diagnostics;
using System.Text;

namespace Kaito.Testing;

/// <summary>
/// A running <c>kubectl port-forward</c>: started, then ready once kubectl prints its "Forwarding from" line; its
/// output is kept (kubectl reports forwarding errors there); disposing stops it.
/// </summary>
public sealed class PortForwarding : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private PortForwarding(Process process, int localPort)
    {
        _process = process;
        LocalPort = localPort;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int LocalPort { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{LocalPort}/");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary><c>kubectl port-forward <paramref name="target"/> &lt;free port&gt;:<paramref name="remotePort"/></c>, once it listens.</summary>
    public static Task<PortForwarding> StartAsync(Kubectl kubectl, string target, int remotePort) =>
        StartAsync(kubectl, target, remotePort, new Dictionary<string, string>());

    /// <summary>As <see cref="StartAsync(Kubectl, string, int)"/>, with environment for kubectl (<c>KUBECTL_PORT_FORWARD_WEBSOCKETS=false</c>: SPDY).</summary>
    public static async Task<PortForwarding> StartAsync(Kubectl kubectl, string target, int remotePort, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(kubectl);
        var local = Ports.Free();
        var forwarding = new PortForwarding(kubectl.Start(environment, "port-forward", target, $"{local}:{remotePort}"), local);
        try
        {
            await Eventually.TrueAsync(() => forwarding.Log.Contains($"Forwarding from 127.0.0.1:{local}", StringComparison.Ordinal) || forwarding._process.HasExited,
                TimeSpan.FromSeconds(60));
            if (forwarding._process.HasExited)
            {
                throw new InvalidOperationException($"kubectl port-forward {target} exited ({forwarding._process.ExitCode}): {forwarding.Log}");
            }

            return forwarding;
        }
        catch
        {
            await forwarding.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
