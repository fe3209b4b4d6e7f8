using System.Globalization;
using System.Text.RegularExpressions;

namespace Kaito.LocalCluster.Simulation;

/// <summary>Kubernetes resource quantities (<c>500m</c>, <c>16Gi</c>, <c>2</c>, <c>1e3</c>) as decimals.</summary>
public static partial class Quantities
{
    public static decimal Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0;
        }

        var match = Pattern().Match(text.Trim());
        if (!match.Success)
        {
            throw new FormatException($"'{text}' is not a Kubernetes quantity");
        }

        var number = decimal.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "" => number,
            "m" => number / 1000,
            "k" => number * 1000m,
            "M" => number * 1000_000m,
            "G" => number * 1000_000_000m,
            "T" => number * 1000_000_000_000m,
            "P" => number * 1000_000_000_000_000m,
            "Ki" => number * 1024m,
            "Mi" => number * 1024m * 1024,
            "Gi" => number * 1024m * 1024 * 1024,
            "Ti" => number * 1024m * 1024 * 1024 * 1024,
            "Pi" => number * 1024m * 1024 * 1024 * 1024 * 1024,
            var exponent when exponent.StartsWith('e') || exponent.StartsWith('E') =>
                number * (decimal)Math.Pow(10, int.Parse(exponent[1..], CultureInfo.InvariantCulture)),
            var unknown => throw new FormatException($"'{text}' has an unknown suffix '{unknown}'"),
        };
    }

    [GeneratedRegex(@"^([+-]?[0-9]*\.?[0-9]+)([a-zA-Z]{0,2}|[eE][+-]?[0-9]+)$")]
    private static partial Regex Pattern();
}
