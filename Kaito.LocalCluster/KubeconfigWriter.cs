using System.Globalization;
using Kaito.ServiceDefaults;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster;

/// <summary>
/// Writes the kubeconfig (server, CA, token) once Kestrel is listening and removes it at shutdown. The file is written to a temporary
/// name and renamed, so a reader never sees half of it and its presence means the API answers.
/// </summary>
public sealed partial class KubeconfigWriter(
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<LocalClusterOptions> options,
    ClusterCredentials credentials,
    SelfSignedCertificates certificates,
    LocalClusterTelemetry telemetry,
    ILogger<KubeconfigWriter> logger) : IHostedService
{
    private readonly LocalClusterOptions _options = options.Value;

    /// <summary>The API server URL once listening; null before.</summary>
    public Uri? Server { get; private set; }

    /// <summary>The full path of the written kubeconfig; null until written.</summary>
    public string? WrittenPath { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A file left by a crashed run would announce a server that is not there yet.
        DeleteIfExists(Path.GetFullPath(_options.Kubeconfig));
        lifetime.ApplicationStarted.Register(WriteKubeconfig);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (WrittenPath is not null)
        {
            DeleteIfExists(WrittenPath);
            WrittenPath = null;
        }

        return Task.CompletedTask;
    }

    private void WriteKubeconfig()
    {
        using var activity = telemetry.ActivitySource.StartActivity("local-cluster.start");

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException(
                $"LocalCluster serves its API over TLS and needs an https:// listening address; it has [{string.Join(", ", addresses)}]. Use --port <n>.");

        Server = ToLoopback(new Uri(address));
        var path = Path.GetFullPath(_options.Kubeconfig);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        // The file holds the cluster's token: readable by its owner only, as kubectl writes kubeconfigs.
        File.WriteAllText(temporary, string.Empty);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(temporary, Render(Server, _options.ContextName, certificates.AuthorityPemBase64, credentials.Token));
        File.Move(temporary, path, overwrite: true);
        WrittenPath = path;

        activity?.SetTag("k8s.server", Server.ToString());
        activity?.SetTag("kubeconfig.path", path);
        LogServing(logger, Server, path);
    }

    private static Uri ToLoopback(Uri listening)
    {
        // Kestrel reports wildcard and "localhost" bindings as such; clients need a concrete loopback address.
        var host = listening.Host is "localhost" or "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : listening.Host;
        return new UriBuilder(listening.Scheme, host, listening.Port).Uri;
    }

    private static string Render(Uri server, string name, string authority, string token) => string.Create(CultureInfo.InvariantCulture, $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: {name}
          cluster:
            server: {server.GetLeftPart(UriPartial.Authority)}
            certificate-authority-data: {authority}
        contexts:
        - name: {name}
          context:
            cluster: {name}
            user: {name}
            namespace: default
        current-context: {name}
        users:
        - name: {name}
          user:
            token: {token}
        preferences: {"{}"}

        """);

    private static void DeleteIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LocalCluster is serving the Kubernetes API at {Server}; kubeconfig written to {Kubeconfig}")]
    private static partial void LogServing(ILogger logger, Uri server, string kubeconfig);
}
