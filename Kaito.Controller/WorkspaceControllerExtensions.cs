using Kaito.Operator.Hosting;

namespace Kaito.Controller;

public static class WorkspaceControllerExtensions
{
    /// <summary>Registers the workspace controller, its telemetry and its hosted service.</summary>
    public static TBuilder AddWorkspaceController<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddSingleton<ControllerTelemetry>();
        builder.Services.AddClusterConnection<ControllerTelemetry>("controller", telemetry => telemetry.ActivitySource);
        return builder;
    }
}
