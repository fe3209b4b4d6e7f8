using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.InferenceServer.Telemetry;

/// <summary>The inference server's telemetry, named <c>Kaito.InferenceServer</c>.</summary>
public sealed class InferenceTelemetry(IMeterFactory meterFactory) : ComponentTelemetry(Name, meterFactory)
{
    public const string Name = "Kaito.InferenceServer";
}
