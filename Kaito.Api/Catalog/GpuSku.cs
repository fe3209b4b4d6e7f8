namespace Kaito.Api.Catalog;

/// <summary>A GPU instance type.</summary>
public sealed record GpuSku
{
    /// <summary>azure, aws or arc.</summary>
    public required string Cloud { get; init; }

    /// <summary>The instance type name, for example Standard_NC24ads_A100_v4.</summary>
    public required string Name { get; init; }

    /// <summary>GPUs per node.</summary>
    public required int Gpus { get; init; }

    /// <summary>Total GPU memory of the node in GiB (all GPUs together).</summary>
    public required double GpuMemoryGiB { get; init; }

    /// <summary>The GPU model, for example A100.</summary>
    public required string GpuModel { get; init; }

    /// <summary>The CUDA compute capability, when the GPU is NVIDIA's.</summary>
    public double? ComputeCapability { get; init; }

    /// <summary>vCPUs of the node.</summary>
    public required int Cpu { get; init; }

    /// <summary>Memory of the node in GiB.</summary>
    public required int MemoryGiB { get; init; }

    /// <summary>The node has local NVMe disks for model caching.</summary>
    public bool Nvme { get; init; }

    /// <summary>Removed from KAITO's current table; kept because users still run it.</summary>
    public bool Legacy { get; init; }

    /// <summary>GPU memory of one GPU in GiB.</summary>
    public double PerGpuMemoryGiB => GpuMemoryGiB / Gpus;
}
