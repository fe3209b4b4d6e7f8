namespace Kaito.Tuner;

/// <summary>The tuner's exit codes; the controller maps a non-zero code and the termination log to a failure reason.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Training or pushing failed after the inputs were accepted.</summary>
    public const int Failed = 1;

    /// <summary>An input is missing or invalid (config, data, weights, output, credentials).</summary>
    public const int InvalidInput = 2;

    /// <summary>The requested work cannot be done by this build of the tuner.</summary>
    public const int Unsupported = 3;
}
