using Kaito.Testing;

namespace Kaito.Tuner.Tests;

/// <summary>Runs the built tuner as a process to completion.</summary>
public static class TunerRun
{
    public static async Task<(int ExitCode, string Log)> RunAsync(string workingDirectory, params string[] arguments)
    {
        await using var tuner = ServiceProcess.Start("Kaito.Tuner", workingDirectory, arguments);
        await Eventually.TrueAsync(() => tuner.HasExited, TimeSpan.FromMinutes(4));
        return (tuner.ExitCode, tuner.FinalLog());
    }
}
