using Kaito.Testing;

namespace Kaito.InferenceServer.Tests;

/// <summary>How the process starts and fails to start.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task AMissingModelFolderStopsTheServerWithANonZeroExitAndTheReason()
    {
        var missing = Path.Combine(Path.GetTempPath(), "kaito-no-such-model-" + Guid.NewGuid().ToString("N"));
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(),
            ["--model", missing, "--port", InferenceServerFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        await Eventually.TrueAsync(() => server.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(1, server.ExitCode);
        Assert.Contains($"Model folder {missing} does not exist", server.FinalLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateTinyModelRefusesUnknownOptionsWithUsage()
    {
        await using var command = ServiceProcess.Start("Kaito.InferenceServer", Path.GetTempPath(), ["generate-tiny-model", "--bogus"]);

        await Eventually.TrueAsync(() => command.HasExited, TimeSpan.FromSeconds(60));

        Assert.Equal(2, command.ExitCode);
        Assert.Contains("Unknown option '--bogus'", command.FinalLog(), StringComparison.Ordinal);
        Assert.Contains("usage: generate-tiny-model --out <dir>", command.FinalLog(), StringComparison.Ordinal);
    }
}
