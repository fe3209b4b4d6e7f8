using Kaito.InferenceServer.Engine;
using Kaito.InferenceServer.Scheduling;
using Kaito.InferenceServer.Security;
using Kaito.InferenceServer.Serving;
using Kaito.InferenceServer.Telemetry;
using Kaito.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer;

public static class InferenceServerExtensions
{
    /// <summary>KAITO's inference port: the Service maps 80 to it.</summary>
    public const int DefaultPort = Kaito.ServiceDefaults.DefaultPorts.InferenceServer;

    private static readonly Dictionary<string, string> s_switchMappings = new()
    {
        ["--model"] = Key(nameof(InferenceServerOptions.Model)),
        ["--tiny-model"] = Key(nameof(InferenceServerOptions.TinyModel)),
        ["--served-model-name"] = Key(nameof(InferenceServerOptions.ServedModelName)),
        ["--default-model"] = Key(nameof(InferenceServerOptions.DefaultModel)),
        ["--base-weights"] = Key(nameof(InferenceServerOptions.BaseWeights)),
        ["--adapters-dir"] = Key(nameof(InferenceServerOptions.AdaptersDirectory)),
        ["--kaito-adapters-dir"] = Key(nameof(InferenceServerOptions.AdaptersDirectory)),
        ["--cache-dir"] = Key(nameof(InferenceServerOptions.CacheDirectory)),
        ["--execution-provider"] = Key(nameof(InferenceServerOptions.ExecutionProvider)),
        ["--context-length"] = Key(nameof(InferenceServerOptions.ContextLength)),
        ["--max-model-len"] = Key(nameof(InferenceServerOptions.ContextLength)),
        ["--intra-op-threads"] = Key(nameof(InferenceServerOptions.IntraOpThreads)),
        ["--max-batch-size"] = Key(nameof(InferenceServerOptions.MaxBatchSize)),
        ["--max-queue"] = Key(nameof(InferenceServerOptions.MaxQueuedRequests)),
        ["--api-keys-file"] = Key(nameof(InferenceServerOptions.ApiKeysFile)),
        ["--tls-cert-file"] = Key(nameof(InferenceServerOptions.TlsCertificateFile)),
        ["--tls-key-file"] = Key(nameof(InferenceServerOptions.TlsKeyFile)),
        ["--cors-allowed-origins"] = Key(nameof(InferenceServerOptions.CorsAllowedOrigins)),
        ["--port"] = "Inference:Port",
        ["--kaito-config-file"] = "Inference:KaitoConfigFile",
    };

    /// <summary>
    /// Adds the command line with the server's switches. <c>--port</c> (default 5000, KAITO's) sets the listening URL
    /// unless <c>ASPNETCORE_URLS</c> or <c>urls</c> already chose one.
    /// </summary>
    public static WebApplicationBuilder AddInferenceCommandLine(this WebApplicationBuilder builder, string[] args)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.AddCommandLine(args, s_switchMappings);
        if (builder.Configuration["Inference:KaitoConfigFile"] is { Length: > 0 } configFile)
        {
            // KAITO's inference ConfigMap; switches on the command line still win, so it goes in before them again.
            var (settings, ignored) = KaitoConfigFile.Read(configFile);
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Configuration.AddCommandLine(args, s_switchMappings);
            if (ignored.Count > 0)
            {
                builder.Configuration["Inference:IgnoredConfigKeys"] = string.Join(", ", ignored);
            }
        }

        var port = builder.Configuration["Inference:Port"];
        if (port is not null || !builder.AddressConfigured())
        {
            var scheme = string.IsNullOrEmpty(builder.Configuration[Key(nameof(InferenceServerOptions.TlsCertificateFile))]) ? "http" : "https";
            builder.WebHost.UseUrls($"{scheme}://{builder.ListenHost()}:{port ?? DefaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return builder;
    }

    /// <summary>Registers the engine, the model registry, the scheduler, metrics and request limits.</summary>
    public static WebApplicationBuilder AddInferenceServer(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOptions<InferenceServerOptions>()
            .Bind(builder.Configuration.GetSection(InferenceServerOptions.SectionName))
            .Validate(o => o.MaxBatchSize >= 1, "Inference:MaxBatchSize must be at least 1.")
            .Validate(o => o.MaxQueuedRequests >= 0, "Inference:MaxQueuedRequests must not be negative.")
            .Validate(o => o.MaxConcurrentBatches >= 1, "Inference:MaxConcurrentBatches must be at least 1.")
            .Validate(o => o.ContextLength is null or > 0, "Inference:ContextLength must be positive.")
            .Validate(o => o.IntraOpThreads is null or > 0, "Inference:IntraOpThreads must be positive.")
            .Validate(o => o.ExecutionProvider is "cpu" or "cuda", "Inference:ExecutionProvider must be cpu or cuda.")
            .ValidateOnStart();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var limit = context.Configuration.GetValue<long?>($"{InferenceServerOptions.SectionName}:{nameof(InferenceServerOptions.MaxRequestBodyBytes)}");
            kestrel.Limits.MaxRequestBodySize = limit ?? new InferenceServerOptions().MaxRequestBodyBytes;
        });

        builder.Services.AddSingleton<InferenceTelemetry>();
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<GenAiRuntime>();
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelRegistry>());
        builder.Services.AddSingleton<GenerationScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GenerationScheduler>());
        builder.Services.AddHostedService<InferenceStartup>();
        builder.Services.AddHealthChecks().AddCheck<ModelRegistry>(ModelRegistry.HealthCheckName);
        builder.AddInferenceSecurity();
        return builder;
    }

    private static string Key(string property) => $"{InferenceServerOptions.SectionName}:{property}";
}
