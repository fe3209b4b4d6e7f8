using System.Text.Json.Nodes;

namespace Kaito.Testing;

/// <summary>
/// Kaito's command-line programs run as their built assemblies, as users and the kubelet run them: <c>kubectl kaito</c>,
/// the model puller, and the tuner's <c>decode</c> (its own greedy decode with an adapter).
/// </summary>
public static class KaitoTools
{
    public static string CliPath => Repository.BuildOutput("Kaito.Cli", "kubectl-kaito.dll");

    public static string PullerPath => Repository.BuildOutput("Kaito.ModelPuller", "kaito-model-puller.dll");

    public static string TunerPath => Repository.BuildOutput("Kaito.Tuner", "Kaito.Tuner.dll");

    public static Task<(int ExitCode, string Output)> KubectlKaitoAsync(params string[] arguments) => RegistryProcess.RunAsync("dotnet", [CliPath, .. arguments]);

    public static Task<(int ExitCode, string Output)> PullAsync(params string[] arguments) => RegistryProcess.RunAsync("dotnet", [PullerPath, .. arguments]);

    /// <summary>The tuner's greedy continuation of <paramref name="prompt"/> (token ids) with the adapter in <paramref name="adapter"/>.</summary>
    public static async Task<List<int>> TunerDecodeAsync(string model, string adapter, string prompt, int maxTokens)
    {
        var (code, output) = await RegistryProcess.RunAsync("dotnet",
            [TunerPath, "decode", "--model", model, "--adapter", adapter, "--prompt", prompt, "--max-tokens", maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("{\"prompt_ids\"", StringComparison.Ordinal));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"the tuner's decode failed ({code}): {output}");
        }

        return [.. JsonNode.Parse(line)!["token_ids"]!.AsArray().Select(t => (int)t!)];
    }
}
