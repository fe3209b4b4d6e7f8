namespace Kaito.Api.Names;

/// <summary>Extended and well-known resource names.</summary>
public static class Resources
{
    /// <summary>NVIDIA GPUs, as the device plugin advertises them.</summary>
    public const string NvidiaGpu = "nvidia.com/gpu";

    /// <summary>Ephemeral storage request on a NodeClaim (sizes the OS disk).</summary>
    public const string Storage = "storage";

    /// <summary>CPU.</summary>
    public const string Cpu = "cpu";

    /// <summary>Memory.</summary>
    public const string Memory = "memory";

    /// <summary>Pods per node.</summary>
    public const string Pods = "pods";
}
