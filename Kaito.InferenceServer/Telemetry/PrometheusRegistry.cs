using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Kaito.InferenceServer.Telemetry;

/// <summary>
/// Counters, gauges and histograms rendered in the Prometheus text exposition format (version 0.0.4) for
/// <c>GET /metrics</c>. Series are keyed by their label values; updates are lock-free or take a per-histogram lock.
/// </summary>
public sealed class PrometheusRegistry
{
    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public Counter CreateCounter(string name, string help, params string[] labels) =>
        (Counter)Register(new Counter(name, help, labels));

    public Gauge CreateGauge(string name, string help, params string[] labels) =>
        (Gauge)Register(new Gauge(name, help, labels));

    public Histogram CreateHistogram(string name, string help, double[] buckets, params string[] labels) =>
        (Histogram)Register(new Histogram(name, help, buckets, labels));

    public string Render()
    {
        var builder = new StringBuilder();
        string[] names;
        lock (_order)
        {
            names = [.. _order];
        }

        foreach (var name in names)
        {
            _families[name].Render(builder);
        }

        return builder.ToString();
    }

    private Family Register(Family family)
    {
        if (!_families.TryAdd(family.Name, family))
        {
            throw new InvalidOperationException($"Metric {family.Name} is registered twice.");
        }

        lock (_order)
        {
            _order.Add(family.Name);
        }

        return family;
    }

    public abstract class Family(string name, string help, string type, string[] labels)
    {
        public string Name { get; } = name;

        protected string[] Labels { get; } = labels;

        internal void Render(StringBuilder builder)
        {
            builder.Append("# HELP ").Append(Name).Append(' ').Append(help).Append('\n');
            builder.Append("# TYPE ").Append(Name).Append(' ').Append(type).Append('\n');
            RenderSeries(builder);
        }

        protected abstract void RenderSeries(StringBuilder builder);

        protected string LabelText(string[] values, string? extraName = null, string? extraValue = null)
        {
            if (values.Length != Labels.Length)
            {
                throw new ArgumentException($"{Name} takes labels ({string.Join(", ", Labels)}).", nameof(values));
            }

            if (Labels.Length == 0 && extraName is null)
            {
                return "";
            }

            var parts = Labels.Select((label, i) => $"{label}=\"{Escape(values[i])}\"");
            if (extraName is not null)
            {
                parts = parts.Append($"{extraName}=\"{extraValue}\"");
            }

            return "{" + string.Join(",", parts) + "}";
        }

        protected static string Format(double value) => double.IsPositiveInfinity(value)
            ? "+Inf"
            : value.ToString("R", CultureInfo.InvariantCulture);

        private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>A single number per series; counters only go up, gauges go both ways.</summary>
    public abstract class Scalar(string name, string help, string type, string[] labels) : Family(name, help, type, labels)
    {
        private readonly ConcurrentDictionary<string, double[]> _series = new(StringComparer.Ordinal);

        public double Value(params string[] labelValues) =>
            _series.TryGetValue(LabelText(labelValues), out var cell) ? cell[0] : 0;

        protected void Change(double delta, string[] labelValues)
        {
            var cell = _series.GetOrAdd(LabelText(labelValues), _ => new double[1]);
            lock (cell)
            {
                cell[0] += delta;
            }
        }

        protected override void RenderSeries(StringBuilder builder)
        {
            foreach (var (labels, cell) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                builder.Append(Name).Append(labels).Append(' ').Append(Format(cell[0])).Append('\n');
            }
        }
    }

    public sealed class Counter(string name, string help, string[] labels) : Scalar(name, help, "counter", labels)
    {
        public void Add(double value, params string[] labelValues)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Change(value, labelValues);
        }
    }

    public sealed class Gauge(string name, string help, string[] labels) : Scalar(name, help, "gauge", labels)
    {
        public void Add(double delta, params string[] labelValues) => Change(delta, labelValues);

        public void Set(double value, params string[] labelValues) => Change(value - Value(labelValues), labelValues);
    }

    public sealed class Histogram(string name, string help, double[] buckets, string[] labels) : Family(name, help, "histogram", labels)
    {
        private readonly ConcurrentDictionary<string, (string[] Values, Series Series)> _series = new(StringComparer.Ordinal);

        public void Observe(double value, params string[] labelValues)
        {
            var key = LabelText(labelValues);
            var series = _series.GetOrAdd(key, _ => (labelValues, new Series(buckets.Length))).Series;
            lock (series)
            {
                for (var i = 0; i < buckets.Length; i++)
                {
                    if (value <= buckets[i])
                    {
                        series.Counts[i]++;
                    }
                }

                series.Count++;
                series.Sum += value;
            }
        }

        protected override void RenderSeries(StringBuilder builder)
        {
            foreach (var (_, (values, series)) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    for (var i = 0; i < buckets.Length; i++)
                    {
                        builder.Append(Name).Append("_bucket").Append(LabelText(values, "le", Format(buckets[i])))
                            .Append(' ').Append(series.Counts[i]).Append('\n');
                    }

                    builder.Append(Name).Append("_bucket").Append(LabelText(values, "le", "+Inf")).Append(' ').Append(series.Count).Append('\n');
                    builder.Append(Name).Append("_sum").Append(LabelText(values)).Append(' ').Append(Format(series.Sum)).Append('\n');
                    builder.Append(Name).Append("_count").Append(LabelText(values)).Append(' ').Append(series.Count).Append('\n');
                }
            }
        }

        private sealed class Series(int buckets)
        {
            public long[] Counts { get; } = new long[buckets];

            public long Count { get; set; }

            public double Sum { get; set; }
        }
    }
}
