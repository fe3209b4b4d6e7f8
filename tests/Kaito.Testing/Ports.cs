using System.Net;
using System.Net.Sockets;

namespace Kaito.Testing;

/// <summary>Loopback ports for services a test starts.</summary>
public static class Ports
{
    /// <summary>A port the OS just had free (bound and released; a process started right away gets it).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
