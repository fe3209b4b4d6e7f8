namespace Kaito.Tuner;

/// <summary>A failure with an exit code and a one-line cause for the termination log.</summary>
public sealed class TuningFailedException(int exitCode, string cause) : Exception(cause)
{
    public int ExitCode { get; } = exitCode;
}
