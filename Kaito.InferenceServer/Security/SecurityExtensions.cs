using System.Security.Cryptography.X509Certificates;
using Kaito.InferenceServer.Apis;
using Microsoft.Extensions.Options;

namespace Kaito.InferenceServer.Security;

/// <summary>
/// Who may talk to the server: API keys on every endpoint but the probes and metrics (each can be put behind the key
/// too), TLS from a mounted certificate, and CORS only for the origins configured (none by default: a web page cannot
/// drive the server from a browser).
/// </summary>
public static class SecurityExtensions
{
    public const string CorsPolicy = "configured-origins";

    /// <summary>Registers the API keys, the TLS certificate and the CORS policy the options ask for.</summary>
    public static WebApplicationBuilder AddInferenceSecurity(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiKeys>();
        var section = builder.Configuration.GetSection(InferenceServerOptions.SectionName);
        if (section[nameof(InferenceServerOptions.ApiKeysFile)] is { Length: > 0 } keysFile)
        {
            // Checked here so that a missing or empty Secret stops the server at start with its reason, not at the first request.
            if (!File.Exists(keysFile) || File.ReadAllLines(keysFile).All(l => l.Trim().Length == 0 || l.TrimStart().StartsWith('#')))
            {
                throw new InvalidDataException($"--api-keys-file {keysFile} {(File.Exists(keysFile) ? "holds no key" : "does not exist")}");
            }
        }

        if (section[nameof(InferenceServerOptions.TlsCertificateFile)] is { Length: > 0 } certificate)
        {
            var key = section[nameof(InferenceServerOptions.TlsKeyFile)]
                ?? throw new InvalidDataException("--tls-cert-file needs --tls-key-file (the certificate's private key, PEM)");
            // Loaded once here so that a wrong file stops the server at start with its reason.
            using var check = X509Certificate2.CreateFromPemFile(certificate, key);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
                https.ServerCertificateSelector = (_, _) => TlsCertificate.Current(certificate, key)));
        }

        var origins = (section[nameof(InferenceServerOptions.CorsAllowedOrigins)] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (origins.Length > 0)
        {
            builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
                policy.WithOrigins(origins).WithMethods("GET", "POST").WithHeaders("Authorization", "Content-Type")));
        }

        return builder;
    }

    /// <summary>CORS for the configured origins (when any), then the API key check.</summary>
    public static WebApplication UseInferenceSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<InferenceServerOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(options.CorsAllowedOrigins))
        {
            app.UseCors(CorsPolicy);
        }

        var keys = app.Services.GetRequiredService<ApiKeys>();
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            var open = HttpMethods.IsOptions(context.Request.Method)
                || (!options.ApiKeyForHealth && (path.StartsWithSegments("/health") || path.StartsWithSegments("/alive")))
                || (!options.ApiKeyForMetrics && path.StartsWithSegments("/metrics"));
            if (open || keys.Accepts(context.Request.Headers.Authorization))
            {
                await next(context);
                return;
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            await TypedResults.Json(OpenAiErrors.Body(new OpenAiException(StatusCodes.Status401Unauthorized,
                "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'.", null, "invalid_api_key")), statusCode: 401).ExecuteAsync(context);
        });
        return app;
    }
}
