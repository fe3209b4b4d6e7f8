using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.LocalCluster;

/// <summary>LocalCluster's telemetry, named <c>Kaito.LocalCluster</c>.</summary>
public sealed class LocalClusterTelemetry(IMeterFactory meterFactory) : ComponentTelemetry(Name, meterFactory)
{
    public const string Name = "Kaito.LocalCluster";
}
