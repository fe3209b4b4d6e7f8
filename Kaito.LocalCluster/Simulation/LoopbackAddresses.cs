using System.Globalization;
using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Every address LocalCluster hands out, all on the host's loopback network (127.0.0.0/8), so that nothing a pod or a
/// client is given can route anywhere else: nodes are the host itself (127.0.0.1), pod IPs come from 127.244.0.0/16 and
/// Service ClusterIPs from 127.96.0.0/16 (the usual 10.244/16 and 10.96/16 ranges, moved onto loopback), and NodePort
/// and LoadBalancer Services are reached on 127.0.0.1 at their node port. Linux routes the whole /8 to <c>lo</c>, so a
/// process can bind any of these addresses without privileges or configuration.
/// </summary>
public static class LoopbackAddresses
{
    /// <summary>Every node's address: the host.</summary>
    public const string Node = "127.0.0.1";

    /// <summary>The node port range, as kube-apiserver's default <c>--service-node-port-range</c>.</summary>
    public const int FirstNodePort = 30000;

    public const int LastNodePort = 32767;

    /// <summary>A pod's IP in 127.244.0.0/16, stable for its UID and distinct from every address in <paramref name="taken"/>.</summary>
    public static string PodIp(string uid, ISet<string> taken) => Allocate("127.244", uid, taken);

    /// <summary>A Service's ClusterIP in 127.96.0.0/16, stable for its UID and distinct from <paramref name="taken"/>.</summary>
    public static string ClusterIp(string uid, ISet<string> taken) => Allocate("127.96", uid, taken);

    /// <summary>A free node port for <paramref name="uid"/>'s port <paramref name="index"/>, distinct from <paramref name="taken"/>.</summary>
    public static int NodePort(string uid, int index, ISet<int> taken)
    {
        ArgumentNullException.ThrowIfNull(taken);
        var span = LastNodePort - FirstNodePort + 1;
        var seed = Seed(uid) + index;
        for (var attempt = 0; attempt < span; attempt++)
        {
            var port = FirstNodePort + (int)((seed + attempt) % span);
            if (taken.Add(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"all {span} node ports ({FirstNodePort}-{LastNodePort}) are allocated");
    }

    private static string Allocate(string prefix, string uid, ISet<string> taken)
    {
        ArgumentNullException.ThrowIfNull(taken);
        // .0.0 (the network), .255.255 (broadcast) and the x.y.0.1 gateway style addresses are skipped: 2..254 in the
        // last octet, every third octet, 253 * 256 addresses.
        const int span = 253 * 256;
        var seed = Seed(uid);
        for (var attempt = 0; attempt < span; attempt++)
        {
            var value = (int)((seed + attempt) % span);
            var address = string.Create(CultureInfo.InvariantCulture, $"{prefix}.{value / 253}.{2 + value % 253}");
            if (taken.Add(address))
            {
                return address;
            }
        }

        throw new InvalidOperationException($"all addresses of {prefix}.0.0/16 are allocated");
    }

    private static long Seed(string uid) => Convert.ToInt64(Objects.Hash(JsonValue.Create(uid))[..8], 16);
}
