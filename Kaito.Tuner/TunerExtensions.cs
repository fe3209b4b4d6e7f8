using System.Diagnostics;
using Kaito.ServiceDefaults;

namespace Kaito.Tuner;

public static partial class TunerExtensions
{
    private static readonly Dictionary<string, string> s_switchMappings = new()
    {
        ["--config"] = Key(nameof(TunerOptions.Config)),
        ["--data"] = Key(nameof(TunerOptions.Data)),
        ["--data-urls"] = Key(nameof(TunerOptions.DataUrls)),
        ["--model"] = Key(nameof(TunerOptions.Model)),
        ["--output"] = Key(nameof(TunerOptions.Output)),
        ["--output-image"] = Key(nameof(TunerOptions.OutputImage)),
        ["--docker-config"] = Key(nameof(TunerOptions.DockerConfig)),
        ["--insecure-registry"] = Key(nameof(TunerOptions.InsecureRegistry)),
        ["--device"] = Key(nameof(TunerOptions.Device)),
        ["--allowed-data-hosts"] = Key(nameof(TunerOptions.AllowedDataHosts)),
        ["--resolve"] = Key(nameof(TunerOptions.Resolve)),
        ["--max-download-bytes"] = Key(nameof(TunerOptions.MaxDownloadBytes)),
        ["--download-timeout"] = Key(nameof(TunerOptions.DownloadTimeout)),
    };

    /// <summary>The verb that only downloads the dataset URLs (the tuning Job's data-downloader init container).</summary>
    public const string DownloadCommand = "download";

    /// <summary>Adds the command line with the tuner's switches mapped to <see cref="TunerOptions"/>.</summary>
    public static IConfigurationBuilder AddTunerCommandLine(this IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.AddCommandLine(args, s_switchMappings);
    }

    /// <summary>Registers the tuning job, its options and telemetry.</summary>
    public static TBuilder AddTuner<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOptions<TunerOptions>()
            .Bind(builder.Configuration.GetSection(TunerOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<TunerTelemetry>();
        builder.Services.AddSingleton<TuningJob>();
        return builder;
    }

    /// <summary>
    /// Runs the job to completion and returns the process exit code. On failure the one-line cause is logged and
    /// written to the termination log; telemetry is flushed by stopping the host either way.
    /// </summary>
    public static Task<int> RunTuningJobAsync(this IHost host) =>
        RunAsync(host, "Tuning job", (services, cancellationToken) => services.GetRequiredService<TuningJob>().RunAsync(cancellationToken));

    /// <summary>Downloads the dataset URLs into the data folder and exits (<c>kaito-tuner download ...</c>), as <see cref="RunTuningJobAsync"/> reports.</summary>
    public static Task<int> RunDownloadAsync(this IHost host) =>
        RunAsync(host, "Dataset download", (services, cancellationToken) => services.GetRequiredService<TuningJob>().DownloadDataAsync(cancellationToken));

    private static async Task<int> RunAsync(IHost host, string what, Func<IServiceProvider, CancellationToken, Task> work)
    {
        ArgumentNullException.ThrowIfNull(host);

        await host.StartAsync();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kaito.Tuner");
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TunerOptions>>().Value;
        var exitCode = ExitCodes.Success;
        var clock = Stopwatch.StartNew();
        try
        {
            await work(host.Services, lifetime.ApplicationStopping);
            LogSucceeded(logger, what, clock.Elapsed.TotalSeconds);
        }
        catch (TuningFailedException failure)
        {
            exitCode = failure.ExitCode;
            Fail(logger, options, what, failure.Message, exitCode);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            exitCode = ExitCodes.Failed;
            Fail(logger, options, what, $"{what.ToLowerInvariant()} was stopped before it finished", exitCode);
        }
        catch (Exception unexpected)
        {
            // A bug or an environment fault (a full disk): still one line in the termination log, and the stack in the log.
            exitCode = ExitCodes.Failed;
            LogUnexpected(logger, unexpected);
            Fail(logger, options, what, $"unexpected {unexpected.GetType().Name}: {unexpected.Message}", exitCode);
        }

        await host.StopAsync();
        return exitCode;
    }

    private static void Fail(ILogger logger, TunerOptions options, string what, string cause, int exitCode)
    {
        LogFailed(logger, what, exitCode, cause);
        TerminationMessage.Write(options.TerminationLog, cause, logger);
    }

    private static string Key(string property) => $"{TunerOptions.SectionName}:{property}";

    [LoggerMessage(Level = LogLevel.Information, Message = "{What} finished in {Seconds:0.0} s")]
    private static partial void LogSucceeded(ILogger logger, string what, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "{What} failed (exit code {ExitCode}): {Cause}")]
    private static partial void LogFailed(ILogger logger, string what, int exitCode, string cause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);

}
