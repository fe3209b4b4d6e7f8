using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Kaito.ServiceDefaults;

/// <summary>
/// Each Kaito service has its own HTTP port, so that several run side by side on one machine without flags (ASP.NET's
/// own default, 5000, is the inference server's — KAITO's — port): the controller 8081, the provisioner 8082, the
/// inference server 5000, LocalCluster 6443 (TLS). An address given any other way (<c>--urls</c>,
/// <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, as Aspire and container images set) wins.
/// </summary>
public static class DefaultPorts
{
    public const int Controller = 8081;
    public const int Provisioner = 8082;
    public const int InferenceServer = 5000;
    public const int LocalCluster = 6443;

    /// <summary>
    /// Set by LocalCluster's kubelet, whose pods share the host's network: each pod has its own loopback address, which
    /// the pod's server binds instead of every address (in a real pod, its own network namespace does that).
    /// </summary>
    public const string PodIpVariable = "KAITO_POD_IP";

    /// <summary>The host part of the listening URL: the pod's address under LocalCluster's kubelet, else every address.</summary>
    public static string ListenHost(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Configuration[PodIpVariable] is { Length: > 0 } podIp && System.Net.IPAddress.TryParse(podIp, out _) ? podIp : "+";
    }

    /// <summary>Whether the configuration already names where to listen.</summary>
    public static bool AddressConfigured(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        return !string.IsNullOrEmpty(configuration["urls"]) || !string.IsNullOrEmpty(configuration["http_ports"]) || !string.IsNullOrEmpty(configuration["https_ports"]);
    }

    /// <summary>Listens on <paramref name="port"/> (all interfaces, or the pod's address; plain HTTP) unless an address is configured.</summary>
    public static WebApplicationBuilder UseDefaultPort(this WebApplicationBuilder builder, int port)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.AddressConfigured())
        {
            builder.WebHost.UseUrls($"http://{builder.ListenHost()}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return builder;
    }
}
