using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Controller;

/// <summary>The controller's telemetry, named <c>Kaito.Controller</c>.</summary>
public sealed class ControllerTelemetry : ComponentTelemetry
{
    public const string Name = "Kaito.Controller";

    public ControllerTelemetry(IMeterFactory meterFactory)
        : base(Name, meterFactory)
    {
        Starts = Meter.CreateCounter<long>("kaito.controller.starts", description: "Times the controller connected to its cluster and started.");
    }

    public Counter<long> Starts { get; }
}
