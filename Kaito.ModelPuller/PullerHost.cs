using Kaito.Oci;
using Kaito.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Kaito.ModelPuller;

/// <summary>Runs one pull to completion: exit 0, or 1 with the one-line cause in the log and the termination log.</summary>
public static partial class PullerHost
{
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--image"] = Key(nameof(PullerOptions.Image)),
        ["--target"] = Key(nameof(PullerOptions.Target)),
        ["--cache"] = Key(nameof(PullerOptions.Cache)),
        ["--docker-config"] = Key(nameof(PullerOptions.DockerConfig)),
        ["--insecure-registry"] = Key(nameof(PullerOptions.InsecureRegistry)),
        ["--termination-log"] = Key(nameof(PullerOptions.TerminationLog)),
        ["--acr-registries"] = Key(nameof(PullerOptions.AcrRegistries)),
        ["--layout"] = Key(nameof(PullerOptions.Layout)),
        ["--hf-model"] = Key(nameof(PullerOptions.HfModel)),
        ["--revision"] = Key(nameof(PullerOptions.Revision)),
        ["--hf-endpoint"] = Key(nameof(PullerOptions.HfEndpoint)),
        ["--hf-token-file"] = Key(nameof(PullerOptions.HfTokenFile)),
    };

    public const int Success = 0;
    public const int Failed = 1;

    public static async Task<int> RunAsync(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        await host.StartAsync();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kaito.ModelPuller");
        var options = host.Services.GetRequiredService<IOptions<PullerOptions>>().Value;
        var exitCode = Success;
        try
        {
            if (!string.IsNullOrWhiteSpace(options.HfModel))
            {
                await host.Services.GetRequiredService<HuggingFace.HubPull>().RunAsync(options, lifetime.ApplicationStopping);
            }
            else if (string.IsNullOrWhiteSpace(options.Image))
            {
                throw new ArgumentException("no model image (--image) or Hugging Face model (--hf-model) given");
            }
            else
            {
                await host.Services.GetRequiredService<ModelPull>().RunAsync(options, lifetime.ApplicationStopping);
            }
        }
        catch (Exception e) when (e is RegistryException or InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            exitCode = Failed;
            Fail(logger, options, string.IsNullOrWhiteSpace(options.HfModel) ? Cause(options.Image, e) : $"Hugging Face model {options.HfModel}@{options.Revision}: {e.Message}");
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            exitCode = Failed;
            Fail(logger, options, $"model {(string.IsNullOrWhiteSpace(options.HfModel) ? options.Image : options.HfModel)}: the pull was stopped before it finished");
        }

        await host.StopAsync();
        return exitCode;
    }

    /// <summary>The termination message: the image and what went wrong, in words a workspace condition can carry.</summary>
    internal static string Cause(string image, Exception e) => e switch
    {
        RegistryException { Failure: RegistryFailure.NotFound } => $"model image {image} not found: {e.Message}",
        RegistryException { Failure: RegistryFailure.Unauthorized } => $"model image {image}: authentication failed: {e.Message}",
        RegistryException { Failure: RegistryFailure.DigestMismatch } => $"model image {image}: corrupted download refused: {e.Message}",
        RegistryException { Failure: RegistryFailure.Unreachable } => $"model image {image}: registry unreachable: {e.Message}",
        _ => $"model image {image}: {e.Message}",
    };

    private static void Fail(ILogger logger, PullerOptions options, string cause)
    {
        LogFailed(logger, cause);
        TerminationMessage.Write(options.TerminationLog, cause, logger);
    }

    private static string Key(string property) => $"{PullerOptions.SectionName}:{property}";

    [LoggerMessage(Level = LogLevel.Error, Message = "Model pull failed: {Cause}")]
    private static partial void LogFailed(ILogger logger, string cause);

}
