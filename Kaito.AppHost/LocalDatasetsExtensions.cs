using System.Globalization;

namespace Kaito.AppHost;

/// <summary>
/// Tuning data for LocalCluster's walk-through: <c>datasets</c>, a static file server (busybox's <c>httpd</c>) of the
/// repository's <c>examples/fine-tuning/data</c> on <c>localhost:&lt;Kaito:LocalDatasets:Port&gt;</c>, default 5002. It
/// is only served: tuning workspaces may download from it only when the AppHost is told so explicitly
/// (<c>--allowed-data-hosts localhost:5002</c>), as the webhook and the downloader refuse local addresses otherwise.
/// Without busybox on the PATH the server is left out and says so.
/// </summary>
public static class LocalDatasetsExtensions
{
    public const int DefaultPort = 5002;

    public static IDistributedApplicationBuilder AddLocalDatasets(this IDistributedApplicationBuilder builder, KaitoCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        if (!cluster.IsLocal)
        {
            return builder;
        }

        var busybox = LocalModelImagesExtensions.FindOnPath("busybox");
        var folder = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "examples", "fine-tuning", "data"));
        if (busybox is null || !Directory.Exists(folder))
        {
            Console.Error.WriteLine(busybox is null
                ? "busybox is not installed (apt-get install busybox): the example datasets are not served at localhost:5002."
                : $"{folder} does not exist: the example datasets are not served.");
            return builder;
        }

        var port = int.Parse(builder.Configuration["Kaito:LocalDatasets:Port"] ?? DefaultPort.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        // -f: in the foreground (the AppHost owns the process); -v: one log line per request.
        builder.AddExecutable("datasets", busybox, folder, "httpd", "-f", "-v", "-p", $"127.0.0.1:{port}", "-h", folder)
            .WithHttpEndpoint(port: port, isProxied: false, name: "http")
            .WithHttpHealthCheck("/kaito-tiny-count.jsonl");
        return builder;
    }
}
