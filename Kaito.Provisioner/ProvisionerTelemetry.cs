using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Provisioner;

/// <summary>The provisioner's telemetry, named <c>Kaito.Provisioner</c>.</summary>
public sealed class ProvisionerTelemetry : ComponentTelemetry
{
    public const string Name = "Kaito.Provisioner";

    public ProvisionerTelemetry(IMeterFactory meterFactory)
        : base(Name, meterFactory)
    {
        Starts = Meter.CreateCounter<long>("kaito.provisioner.starts", description: "Times the provisioner connected to its cluster and started.");
    }

    public Counter<long> Starts { get; }
}
