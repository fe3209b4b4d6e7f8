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
