namespace Kaito.InferenceServer;

public static class InferenceServerExtensions
{
    /// <summary>Registers the inference server's telemetry and start-up.</summary>
    public static TBuilder AddInferenceServer<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddSingleton<InferenceTelemetry>();
        builder.Services.AddHostedService<InferenceStartup>();
        return builder;
    }
}
