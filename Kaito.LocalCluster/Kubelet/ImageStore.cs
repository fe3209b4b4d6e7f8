using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Oci;
using OciReference = Kaito.Oci.ImageReference;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>An image unpacked on this node: its root file system and the run settings of its config.</summary>
/// <param name="Reference">The image as the pod named it.</param>
/// <param name="Digest">The manifest's digest (the container status' <c>imageID</c>).</param>
/// <param name="RootFilesystem">The unpacked layers, shared read-only by every container of the image.</param>
/// <param name="Entrypoint">The config's <c>Entrypoint</c>.</param>
/// <param name="Cmd">The config's <c>Cmd</c>.</param>
/// <param name="Env">The config's <c>Env</c> (<c>NAME=value</c>).</param>
/// <param name="WorkingDir">The config's <c>WorkingDir</c>, <c>/</c> when it has none.</param>
/// <param name="User">The config's <c>User</c> (<c>uid</c>, <c>uid:gid</c>, or names), or null.</param>
/// <param name="Bytes">The compressed size of its layers.</param>
public sealed record PulledImage(string Reference, string Digest, string RootFilesystem, IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Env, string WorkingDir, string? User, long Bytes);

/// <summary>
/// The node's images: pulled with Kaito's OCI client from registries on this machine (loopback only — the kubelet
/// never sends traffic elsewhere, and its HTTP client refuses any other address, redirects included), with the pod's
/// <c>imagePullSecrets</c>, and unpacked once per manifest digest into a root file system that containers of the image
/// share read-only (each gets its own writable overlay). Concurrent pulls of one image wait for each other.
/// </summary>
public sealed partial class ImageStore : IDisposable
{
    private const long MaxConfigBytes = 4 * 1024 * 1024;
    private readonly string _directory;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly long _maxBytes;
    private readonly long _maxEntries;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    public ImageStore(string directory, ILogger logger, long maxBytes, long maxEntries, Func<string, CancellationToken, ValueTask<IPAddress[]>>? resolve = null)
    {
        _directory = directory;
        _logger = logger;
        _maxBytes = maxBytes;
        _maxEntries = maxEntries;
        resolve ??= (host, token) => new ValueTask<IPAddress[]>(Dns.GetHostAddressesAsync(host, token));
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = (context, token) => ConnectLoopbackAsync(context.DnsEndPoint, resolve, token),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Whether the kubelet pulls <paramref name="image"/> itself: its registry is on this machine.</summary>
    public static bool CanPull(string? image)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            return false;
        }

        try
        {
            return OciReference.Parse(image).IsLoopbackRegistry;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// The image as this node has it, without asking its registry (pull policies IfNotPresent and Never): by digest, or by
    /// the digest its reference had when it was last pulled here; null when the node has never unpacked it.
    /// </summary>
    public PulledImage? Present(string image)
    {
        var reference = OciReference.Parse(image);
        var digest = reference.Digest;
        if (digest is null && File.Exists(RefFile(reference)))
        {
            digest = File.ReadAllText(RefFile(reference)).Trim();
        }

        if (!Digests.IsValid(digest) || Path.Combine(_directory, Digests.Hex(digest!)) is var unpacked && !File.Exists(Path.Combine(unpacked, "config.json")))
        {
            return null;
        }

        var bytes = File.Exists(Path.Combine(unpacked, "size")) && long.TryParse(File.ReadAllText(Path.Combine(unpacked, "size")), System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : 0;
        return Read(image, digest!, unpacked, bytes);
    }

    /// <summary>Pulls and unpacks <paramref name="image"/> unless the node has its manifest's digest already.</summary>
    /// <param name="image">The reference.</param>
    /// <param name="dockerConfigs">The <c>.dockerconfigjson</c> of each of the pod's pull secrets, with where it came from.</param>
    /// <param name="cancellationToken">Stops the pull (a partial unpack is removed).</param>
    /// <exception cref="RegistryException">The registry refused or failed.</exception>
    /// <exception cref="InvalidDataException">The image is not one this node can run (its layers or config).</exception>
    public async Task<PulledImage> PullAsync(string image, IReadOnlyList<(string Json, string Source)> dockerConfigs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dockerConfigs);
        var reference = OciReference.Parse(image);
        (string User, string Password)? credentials = null;
        foreach (var (json, source) in dockerConfigs)
        {
            credentials ??= DockerConfig.CredentialsFor(json, source, reference.Registry);
        }

        var client = new RegistryClient(_http, reference, credentials, plainHttp: false, RegistryAccess.Pull, _logger);
        var (manifest, digest) = await client.GetManifestAsync(cancellationToken);
        var hex = Digests.Hex(digest);
        var unpacked = Path.Combine(_directory, hex);
        var gate = _gates.GetOrAdd(hex, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(Path.Combine(unpacked, "config.json")))
            {
                await UnpackAsync(client, manifest, image, unpacked, cancellationToken);
            }

            // what the reference names now, for the pulls that do not ask the registry again
            var refFile = RefFile(reference);
            Directory.CreateDirectory(Path.GetDirectoryName(refFile)!);
            await File.WriteAllTextAsync(refFile + ".tmp", digest, cancellationToken);
            File.Move(refFile + ".tmp", refFile, overwrite: true);
            return Read(image, digest, unpacked, manifest.Layers.Sum(l => l.Size));
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => _http.Dispose();

    private string RefFile(OciReference reference) =>
        Path.Combine(_directory, "refs", Digests.Hex(Digests.Of(System.Text.Encoding.UTF8.GetBytes($"{reference.Registry}/{reference.Repository}:{reference.Tag}"))));

    private async Task UnpackAsync(RegistryClient client, OciManifest manifest, string image, string unpacked, CancellationToken cancellationToken)
    {
        var staging = $"{unpacked}.unpacking-{Guid.NewGuid():N}";
        var rootfs = Path.Combine(staging, "rootfs");
        // each unpack downloads into its own folder: images pulled at once often share layers (their base)
        var blobs = Path.Combine(staging, "blobs");
        Directory.CreateDirectory(rootfs);
        Directory.CreateDirectory(blobs);
        var watch = Stopwatch.StartNew();
        try
        {
            if (manifest.Config.Size > MaxConfigBytes)
            {
                throw new InvalidDataException($"image {image}: its config is {manifest.Config.Size} bytes, more than {MaxConfigBytes}");
            }

            var configPath = Path.Combine(blobs, Digests.Hex(manifest.Config.Digest) + ".partial");
            await client.DownloadBlobAsync(manifest.Config, configPath, null, cancellationToken);
            var config = await File.ReadAllBytesAsync(configPath, cancellationToken);
            File.Delete(configPath);
            var limits = new LayerArchive.Limits(_maxBytes, _maxEntries);
            foreach (var layer in manifest.Layers)
            {
                var gzip = layer.MediaType.EndsWith("gzip", StringComparison.Ordinal);
                if (!gzip && !layer.MediaType.EndsWith(".tar", StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"image {image}: layer {layer.Digest} is {layer.MediaType}, which this node cannot unpack (tar or tar+gzip)");
                }

                var blob = Path.Combine(blobs, Digests.Hex(layer.Digest) + ".partial");
                await client.DownloadBlobAsync(layer, blob, null, cancellationToken);
                await using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
                {
                    await Task.Run(() => LayerArchive.Apply(stream, gzip, rootfs, limits, $"image {image} layer {layer.Digest}"), cancellationToken);
                }

                File.Delete(blob);
            }

            // The config last: its presence says the root file system is whole.
            Directory.Delete(blobs, recursive: true);
            await File.WriteAllTextAsync(Path.Combine(staging, "size"), manifest.Layers.Sum(l => l.Size).ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(staging, "config.json"), config, cancellationToken);
            Directory.Move(staging, unpacked);
            LogUnpacked(_logger, image, manifest.Layers.Count, limits.Bytes, watch.Elapsed.TotalSeconds);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static PulledImage Read(string image, string digest, string unpacked, long bytes)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllBytes(Path.Combine(unpacked, "config.json")))?["config"] as JsonObject ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"image {image}: its config is not JSON ({e.Message})", e);
        }

        static IReadOnlyList<string> Strings(JsonNode? node) => node is JsonArray array ? array.Select(v => v?.ToString() ?? "").ToList() : [];
        return new PulledImage(image, digest, Path.Combine(unpacked, "rootfs"), Strings(config["Entrypoint"]), Strings(config["Cmd"]), Strings(config["Env"]),
            (string?)config["WorkingDir"] is { Length: > 0 } wd ? wd : "/", (string?)config["User"] is { Length: > 0 } user ? user : null, bytes);
    }

    private static async ValueTask<Stream> ConnectLoopbackAsync(DnsEndPoint endpoint, Func<string, CancellationToken, ValueTask<IPAddress[]>> resolve, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal) ? [literal] : await resolve(endpoint.Host, cancellationToken);
        var loopback = addresses.Where(IPAddress.IsLoopback).ToList();
        if (loopback.Count == 0 || loopback.Count != addresses.Length)
        {
            throw new HttpRequestException($"refused to connect to {endpoint.Host}: LocalCluster's kubelet pulls images from this machine only ({string.Join(", ", addresses.Select(a => a.ToString()))})");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(loopback[0], endpoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Unpacked image {Image}: {Layers} layer(s), {Bytes} bytes in {Seconds:F1} s")]
    private static partial void LogUnpacked(ILogger logger, string image, int layers, long bytes, double seconds);
}
