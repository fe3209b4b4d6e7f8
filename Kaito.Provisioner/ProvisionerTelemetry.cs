using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Provisioner;

/// <summary>
/// The provisioner's telemetry, named <c>Kaito.Provisioner</c>: a span per cloud call (operation, pool, status), how
/// long claims take from creation to Ready, launch failures by reason and cloud call failures by operation and code.
/// </summary>
public sealed class ProvisionerTelemetry : ComponentTelemetry
{
    public const string Name = "Kaito.Provisioner";

    private readonly Histogram<double> _provisioning;
    private readonly Counter<long> _launchFailures;
    private readonly Counter<long> _cloudFailures;

    public ProvisionerTelemetry(IMeterFactory meterFactory)
        : base(Name, meterFactory)
    {
        _provisioning = Meter.CreateHistogram<double>("kaito.provisioner.provisioning.duration", "s", "From NodeClaim creation to Ready.");
        _launchFailures = Meter.CreateCounter<long>("kaito.provisioner.launch.failures", "{failure}", "NodeClaims that could not be launched, by reason.");
        _cloudFailures = Meter.CreateCounter<long>("kaito.provisioner.cloud.failures", "{failure}", "Cloud calls that failed, by operation and error code.");
    }

    public void Provisioned(TimeSpan duration, string provider) =>
        _provisioning.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("provider", provider));

    public void LaunchFailed(string reason) => _launchFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void CloudFailure(string operation, string code) =>
        _cloudFailures.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("code", code));
}
