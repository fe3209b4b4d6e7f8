using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Controller;

/// <summary>The controller's telemetry, named <c>Kaito.Controller</c>.</summary>
public sealed class ControllerTelemetry(IMeterFactory meterFactory) : ComponentTelemetry(Name, meterFactory)
{
    public const string Name = "Kaito.Controller";
}
