using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Kaito.ServiceDefaults;

/// <summary>
/// A component's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>Kaito.&lt;Component&gt;</c> so
/// <see cref="TelemetryExtensions"/> exports them. Each component derives one and registers it as a singleton.
/// </summary>
public abstract class ComponentTelemetry : IDisposable
{
    protected ComponentTelemetry(string name, IMeterFactory meterFactory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(meterFactory);
        if (!name.StartsWith("Kaito.", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Telemetry names must start with 'Kaito.' to be exported; got '{name}'.", nameof(name));
        }

        ActivitySource = new ActivitySource(name);
        Meter = meterFactory.Create(name);
    }

    public ActivitySource ActivitySource { get; }

    /// <summary>Owned by the meter factory, which disposes it with the host.</summary>
    public Meter Meter { get; }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            ActivitySource.Dispose();
        }
    }
}
