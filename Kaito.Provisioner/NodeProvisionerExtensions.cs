using Kaito.Operator.Hosting;

namespace Kaito.Provisioner;

public static class NodeProvisionerExtensions
{
    /// <summary>Registers the NodeClaim controller, its telemetry and its hosted service.</summary>
    public static TBuilder AddNodeProvisioner<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddSingleton<ProvisionerTelemetry>();
        builder.Services.AddClusterConnection<ProvisionerTelemetry>("provisioner", telemetry => telemetry.ActivitySource);
        return builder;
    }
}
