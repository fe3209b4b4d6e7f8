using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary><c>kubectl kaito</c> and the model puller run as their built programs, as users and the kubelet run them.</summary>
public static class Tools
{
    public static Task<(int ExitCode, string Output)> KubectlKaitoAsync(params string[] arguments) => KaitoTools.KubectlKaitoAsync(arguments);

    public static Task<(int ExitCode, string Output)> PullAsync(params string[] arguments) => KaitoTools.PullAsync(arguments);

    /// <summary>A registry with passwords, a docker config for it, and the tiny model written by <c>kubectl kaito model tiny</c> in its folder.</summary>
    public static async Task<(RegistryProcess Registry, string DockerConfig, string Model)> RegistryWithTinyModelAsync()
    {
        var registry = await RegistryProcess.StartAsync();
        var model = Path.Combine(registry.Root, "tiny");
        var (code, output) = await KubectlKaitoAsync("model", "tiny", model);
        Assert.True(code == 0, output);
        return (registry, registry.DockerConfig(), model);
    }
}
