using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Provisioner;

/// <summary>The provisioner's telemetry, named <c>Kaito.Provisioner</c>.</summary>
public sealed class ProvisionerTelemetry(IMeterFactory meterFactory) : ComponentTelemetry(Name, meterFactory)
{
    public const string Name = "Kaito.Provisioner";
}
