using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Tuner;

/// <summary>The tuner's telemetry, named <c>Kaito.Tuner</c>.</summary>
public sealed class TunerTelemetry(IMeterFactory meterFactory) : ComponentTelemetry(Name, meterFactory)
{
    public const string Name = "Kaito.Tuner";
}
