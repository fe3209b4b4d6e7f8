using System.Globalization;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>One line of a container's CRI log.</summary>
public readonly record struct LogLine(DateTimeOffset Time, string Stream, bool Partial, string Text, string Timestamp);

/// <summary>Reads the CRI-format logs the pod workers write.</summary>
public static class ContainerLogs
{
    public static IEnumerable<LogLine> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var rotated = path + ".1";
        var files = File.Exists(rotated) ? new[] { rotated, path } : [path];
        foreach (var file in files.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (Parse(line) is { } parsed)
                {
                    yield return parsed;
                }
            }
        }
    }

    /// <summary>
    /// Reads a container's log as it is written — from its start, or from its current end with
    /// <paramref name="fromEnd"/> — handing each whole line to <paramref name="emit"/> (which returns false to stop),
    /// until <paramref name="running"/> turns false and nothing is left to read.
    /// </summary>
    public static async Task FollowAsync(string path, bool fromEnd, Func<bool> running, Func<LogLine, ValueTask<bool>> emit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(emit);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (fromEnd)
        {
            file.Seek(0, SeekOrigin.End);
        }

        using var reader = new StreamReader(file);
        var pending = new System.Text.StringBuilder();
        var idle = TimeSpan.FromMilliseconds(20);
        while (!cancellationToken.IsCancellationRequested)
        {
            var stillRunning = running();
            var chunk = await reader.ReadToEndAsync(cancellationToken);
            if (chunk.Length > 0)
            {
                pending.Append(chunk);
                var text = pending.ToString();
                var end = text.LastIndexOf('\n');
                if (end >= 0)
                {
                    foreach (var raw in text[..end].Split('\n'))
                    {
                        if (Parse(raw) is { } line && !await emit(line))
                        {
                            return;
                        }
                    }

                    pending.Clear().Append(text[(end + 1)..]);
                }

                idle = TimeSpan.FromMilliseconds(20);
                continue;
            }

            if (!stillRunning)
            {
                return;
            }

            await Task.Delay(idle, cancellationToken);
            idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
        }
    }

    public static LogLine? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var parts = line.Split(' ', 4);
        if (parts.Length < 3 || !DateTimeOffset.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return null;
        }

        return new LogLine(time, parts[1], parts[2] == "P", parts.Length == 4 ? parts[3] : "", parts[0]);
    }
}
