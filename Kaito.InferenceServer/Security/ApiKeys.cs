using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Security;

/// <summary>
/// The API keys clients must present as <c>Authorization: Bearer &lt;key&gt;</c>, read from
/// <see cref="InferenceServerOptions.ApiKeysFile"/> (one key per line, <c>#</c> comments; a mounted Secret) and read again
/// when the file changes, so a rotated Secret takes effect without a restart. Keys are compared as SHA-256 digests in
/// constant time, every key every time, so neither a match's position nor a near miss shows in the timing.
/// </summary>
public sealed partial class ApiKeys
{
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(10);
    private readonly string? _path;
    private readonly TimeProvider _clock;
    private readonly ILogger<ApiKeys> _logger;
    private readonly Lock _gate = new();
    private byte[][] _digests = [];
    private string? _loadedText;
    private long _checkedAt;

    public ApiKeys(IOptions<InferenceServerOptions> options, TimeProvider clock, ILogger<ApiKeys> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _path = string.IsNullOrWhiteSpace(options.Value.ApiKeysFile) ? null : options.Value.ApiKeysFile;
        _clock = clock;
        _logger = logger;
        if (_path is not null)
        {
            Load(throwIfUnusable: true);
        }
    }

    /// <summary>Whether requests need a key at all.</summary>
    public bool Enabled => _path is not null;

    /// <summary>Whether an <c>Authorization</c> header carries one of the keys.</summary>
    public bool Accepts(string? authorization)
    {
        const string Bearer = "Bearer ";
        if (!Enabled)
        {
            return true;
        }

        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim()));
        var digests = Current();
        var match = false;
        foreach (var digest in digests)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, digest);
        }

        return match;
    }

    private byte[][] Current()
    {
        var now = _clock.GetTimestamp();
        if (_clock.GetElapsedTime(Interlocked.Read(ref _checkedAt), now) >= s_recheck)
        {
            Interlocked.Exchange(ref _checkedAt, now);
            Load(throwIfUnusable: false);
        }

        return Volatile.Read(ref _digests);
    }

    private void Load(bool throwIfUnusable)
    {
        lock (_gate)
        {
            try
            {
                // Read whole each time (a few bytes): a Secret update swaps a symlink, which file times do not show reliably.
                var text = File.ReadAllText(_path!);
                if (text == _loadedText)
                {
                    return;
                }

                var keys = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
                if (keys.Count == 0)
                {
                    throw new InvalidDataException($"the API keys file {_path} holds no key");
                }

                Volatile.Write(ref _digests, [.. keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))]);
                _loadedText = text;
                LogLoaded(_logger, keys.Count, _path!);
            }
            catch (Exception e) when (!throwIfUnusable && e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // A Secret being swapped: keep the keys already loaded and say so.
                LogReloadFailed(_logger, _path!, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API keys: {Count} loaded from {Path}; requests must carry one as a Bearer token")]
    private static partial void LogLoaded(ILogger logger, int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API keys file {Path} could not be read again ({Reason}); the keys loaded before stay in force")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);
}
