using Microsoft.Extensions.Logging;

namespace Kaito.ServiceDefaults;

/// <summary>
/// A job's one-line cause of failure in its container's termination log, where the kubelet reads the termination
/// message the controller turns into a workspace condition.
/// </summary>
public static partial class TerminationMessage
{
    public const string DefaultPath = "/dev/termination-log";

    /// <summary>Writes <paramref name="cause"/> to <paramref name="path"/> when it exists (the kubelet creates it; a laptop or CI has none); a failure to write is logged, never thrown.</summary>
    public static void Write(string path, string cause, ILogger logger)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            File.WriteAllText(path, cause);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogUnwritable(logger, path, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the termination log {Path}: {Reason}")]
    private static partial void LogUnwritable(ILogger logger, string path, string reason);
}
