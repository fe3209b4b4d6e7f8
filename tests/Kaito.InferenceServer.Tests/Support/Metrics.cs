using System.Globalization;

namespace Kaito.InferenceServer.Tests.Support;

/// <summary>A parsed <c>GET /metrics</c> scrape.</summary>
public sealed class Metrics(IReadOnlyList<(string Name, Dictionary<string, string> Labels, double Value)> samples)
{
    public static async Task<Metrics> ReadAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("metrics");
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var value = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            var brace = series.IndexOf('{', StringComparison.Ordinal);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (brace >= 0)
            {
                foreach (var pair in series[(brace + 1)..^1].Split(','))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..equals]] = pair[(equals + 2)..^1];
                }
            }

            samples.Add((brace >= 0 ? series[..brace] : series, labels, value));
        }

        return new Metrics(samples);
    }

    /// <summary>Sum over every series of <paramref name="name"/> that has the given labels.</summary>
    public double Value(string name, params (string Label, string Value)[] labels) => samples
        .Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value))
        .Sum(s => s.Value);
}
