using TorchSharp;

namespace Kaito.Tuner.Training;

/// <summary>
/// Picks where training runs. The CPU build of libtorch (what CI and this repository's default build load) has no
/// CUDA; the GPU build (<c>-p:KaitoGpu=true</c>, see README) loads CUDA libtorch, and then <c>auto</c> takes the
/// first GPU.
/// </summary>
public static class TrainingDevice
{
    /// <summary>The device for <paramref name="requested"/> (<c>auto</c>, <c>cpu</c> or <c>cuda</c>).</summary>
    /// <exception cref="NotSupportedException">CUDA was asked for and cannot be used.</exception>
    public static torch.Device Select(string requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var cuda = torch.cuda.is_available();
        return requested switch
        {
            "cpu" => torch.CPU,
            "cuda" when cuda => torch.CUDA,
            "cuda" => throw new NotSupportedException(
                "--device cuda: no CUDA device is usable (this build loads the CPU libtorch unless built with -p:KaitoGpu=true, " +
                "or no GPU is visible to the process)"),
            _ => cuda ? torch.CUDA : torch.CPU,
        };
    }
}
