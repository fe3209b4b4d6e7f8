using Microsoft.Extensions.Options;

namespace Kaito.Tuner;

/// <summary>One run of the tuning job, under a span named <c>tuner.run</c>.</summary>
public sealed partial class TuningJob(IOptions<TunerOptions> options, TunerTelemetry telemetry, ILogger<TuningJob> logger)
{
    public Task RunAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options.Value;
        using var activity = telemetry.ActivitySource.StartActivity("tuner.run");
        activity?.SetTag("tuner.config", settings.Config);
        activity?.SetTag("tuner.output", settings.Output);
        LogStarting(logger, settings.Config, settings.Data, settings.Model, settings.Output);

        var problems = TuningInputs.FindProblems(settings);
        if (problems.Count > 0)
        {
            throw new TuningFailedException(ExitCodes.InvalidInput, string.Join("; ", problems));
        }

        throw new TuningFailedException(ExitCodes.Unsupported,
            "inputs are in place, but this build of Kaito.Tuner has no training engine yet");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tuning job starting: config {Config}, data {Data}, model {Model}, output {Output}")]
    private static partial void LogStarting(ILogger logger, string config, string data, string model, string output);
}
