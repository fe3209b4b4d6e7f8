namespace Kaito.Testing;

/// <summary>
/// A running <c>kubectl port-forward</c>: started, then ready once kubectl prints its "Forwarding from" line; its
/// output is kept (kubectl reports forwarding errors there); disposing stops it.
/// </summary>
public sealed class PortForwarding : IAsyncDisposable
{
    private readonly ServiceProcess _kubectl;

    private PortForwarding(ServiceProcess kubectl, int localPort)
    {
        _kubectl = kubectl;
        LocalPort = localPort;
    }

    public int LocalPort { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{LocalPort}/");

    public string Log => _kubectl.Log;

    /// <summary><c>kubectl port-forward <paramref name="target"/> &lt;free port&gt;:<paramref name="remotePort"/></c>, once it listens.</summary>
    public static Task<PortForwarding> StartAsync(Kubectl kubectl, string target, int remotePort) =>
        StartAsync(kubectl, target, remotePort, new Dictionary<string, string>());

    /// <summary>As <see cref="StartAsync(Kubectl, string, int)"/>, with environment for kubectl (<c>KUBECTL_PORT_FORWARD_WEBSOCKETS=false</c>: SPDY).</summary>
    public static async Task<PortForwarding> StartAsync(Kubectl kubectl, string target, int remotePort, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(kubectl);
        var local = Ports.Free();
        var forwarding = new PortForwarding(ServiceProcess.Start(kubectl.StartInfo(environment, "port-forward", target, $"{local}:{remotePort}")), local);
        try
        {
            await Eventually.TrueAsync(() => forwarding.Log.Contains($"Forwarding from 127.0.0.1:{local}", StringComparison.Ordinal) || forwarding._kubectl.HasExited,
                TimeSpan.FromSeconds(60));
            if (forwarding._kubectl.HasExited)
            {
                throw new InvalidOperationException($"kubectl port-forward {target} exited ({forwarding._kubectl.ExitCode}): {forwarding._kubectl.FinalLog()}");
            }

            return forwarding;
        }
        catch
        {
            await forwarding.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _kubectl.DisposeAsync();
}
