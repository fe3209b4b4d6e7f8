using System.Diagnostics;
using System.Net;

namespace Kaito.Testing;

/// <summary>
/// Debian's <c>docker-registry</c> (CNCF distribution) on a free loopback port with htpasswd basic auth, for real
/// OCI pushes; plain HTTP, so clients mark it insecure.
/// </summary>
public sealed class RegistryProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private RegistryProcess(Process process, string root, string address, string user, string password)
    {
        _process = process;
        Root = root;
        Address = address;
        User = user;
        Password = password;
    }

    public string Root { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Address { get; }

    public string User { get; }

    public string Password { get; }

    /// <summary>The registry's output so far: its access log has one line per request (<c>"GET /v2/... HTTP/1.1" 200</c>).</summary>
    public IReadOnlyList<string> Log => [.. _log];

    /// <summary>How many successful GETs of blob <paramref name="digest"/> the access log shows (in any repository).</summary>
    public int BlobFetches(string digest) =>
        _log.Count(line => line.Contains($"\"GET /v2/", StringComparison.Ordinal) && line.Contains($"/blobs/{digest} HTTP", StringComparison.Ordinal)
                           && System.Text.RegularExpressions.Regex.IsMatch(line, "HTTP/[0-9.]+\" 20[06] "));

    /// <summary>Where the registry keeps blob <paramref name="digest"/>'s bytes (the filesystem driver's layout).</summary>
    public string BlobFile(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(Root, "storage", "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public static async Task<RegistryProcess> StartAsync(string user = "kaito", string password = "s3cret")
    {
        var root = Directory.CreateTempSubdirectory("kaito-registry-").FullName;
        var htpasswd = Path.Combine(root, "htpasswd");
        await RunAsync("htpasswd", ["-Bbc", htpasswd, user, password]);
        return await StartAsync(root, user, password, $"""
              htpasswd:
                realm: kaito-test
                path: {htpasswd}
            """);
    }

    /// <summary>
    /// The registry with token authentication whose challenges name <paramref name="realm"/> as the token endpoint, as
    /// a registry (or whoever controls its configuration) may: clients must decide whether to send credentials there.
    /// </summary>
    public static async Task<RegistryProcess> StartWithTokenRealmAsync(string realm, string user = "kaito", string password = "s3cret")
    {
        var root = Directory.CreateTempSubdirectory("kaito-registry-").FullName;
        using var key = System.Security.Cryptography.ECDsa.Create();
        using var signer = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=kaito-token-issuer", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var bundle = Path.Combine(root, "token-issuer.pem");
        await File.WriteAllTextAsync(bundle, signer.ExportCertificatePem());
        return await StartAsync(root, user, password, $"""
              token:
                realm: {realm}
                service: kaito-test
                issuer: kaito-test
                rootcertbundle: {bundle}
            """);
    }

    private static async Task<RegistryProcess> StartAsync(string root, string user, string password, string auth)
    {
        var port = Ports.Free();
        var config = Path.Combine(root, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(root, "storage")}
            http:
              addr: 127.0.0.1:{port}
            auth:
            {auth}
            """);
        var info = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        var process = Process.Start(info) ?? throw new InvalidOperationException("docker-registry did not start (apt-get install docker-registry)");
        var registry = new RegistryProcess(process, root, $"127.0.0.1:{port}", user, password);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) registry._log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) registry._log.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient();
        await Eventually.ValueAsync(async () => (await http.GetAsync($"http://{registry.Address}/v2/")).StatusCode == HttpStatusCode.Unauthorized ? "up" : null);
        return registry;
    }

    /// <summary>A docker config JSON file with credentials for this registry.</summary>
    public string DockerConfig(string? password = null)
    {
        var path = Path.Combine(Root, $"docker-config-{Guid.NewGuid():N}.json");
        var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{User}:{password ?? Password}"));
        File.WriteAllText(path, $$"""{"auths":{"{{Address}}":{"auth":"{{auth}}"} } }""");
        return path;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IEnumerable<string> arguments)
    {
        var (exit, output, error) = await RunAsync(command, arguments, null);
        return (exit, output + error);
    }

    /// <summary>Runs <paramref name="command"/> to its end with <paramref name="environment"/> added; its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string command, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
