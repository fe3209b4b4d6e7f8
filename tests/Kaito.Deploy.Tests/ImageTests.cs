using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kaito.Testing;

namespace Kaito.Deploy.Tests;

/// <summary>
/// Kaito's images without a Docker daemon: the base from Debian packages, the controller's image from the SDK's
/// container support, what skopeo sees in them, and the image's own process run by LocalCluster's kubelet.
/// </summary>
[Collection(ImagesGroup.Name)]
public sealed partial class ImageTests(ImagesFixture images)
{
    private static readonly string Version = VersionPattern().Match(File.ReadAllText(Repository.PathOf("Directory.Build.props"))).Groups[1].Value;

    [Fact]
    public async Task TheBaseImageIsReproducibleAndCarriesLibrariesButNoShell()
    {
        var (exit, output, error) = await images.RunAsync(Repository.PathOf("deploy", "images", "build-base-image.sh"), "--registry", images.Registry.Address);
        Assert.True(exit == 0, error);
        Assert.Equal(images.BaseImage, output.Trim().Split('\n')[^1]);

        var entries = await LayerEntriesAsync(images.BaseImage);
        Assert.Contains("usr/lib/x86_64-linux-gnu/libssl.so.3", entries);
        Assert.Contains("usr/lib/x86_64-linux-gnu/libstdc++.so.6", entries);
        Assert.Contains("etc/ssl/certs/ca-certificates.crt", entries);
        Assert.Contains("usr/share/zoneinfo/Etc/UTC", entries);
        foreach (var tool in new[] { "usr/bin/sh", "bin/sh", "usr/bin/bash", "usr/bin/dash", "usr/bin/apt", "usr/bin/dpkg" })
        {
            Assert.DoesNotContain(tool, entries);
        }
    }

    [Fact]
    public async Task TheControllerImageIsVersionedLabelledNonRootAndRecordedByDigest()
    {
        Assert.Matches(@"^(localhost|127\.0\.0\.1):\d+/kaito-controller:[^@]+@sha256:[0-9a-f]{64}$", images.ControllerImage);
        var tagged = images.ControllerImage.Split('@')[0];
        Assert.EndsWith($":{Version}", tagged, StringComparison.Ordinal);

        var (exit, output, error) = await images.SkopeoAsync("inspect", $"docker://{tagged}");
        Assert.True(exit == 0, error);
        Assert.Equal(images.ControllerImage.Split('@')[1], (string?)JsonNode.Parse(output)!["Digest"]);

        (exit, output, error) = await images.SkopeoAsync("inspect", "--config", $"docker://{tagged}");
        Assert.True(exit == 0, error);
        var config = JsonNode.Parse(output)!["config"]!;
        Assert.Equal("1654", (string?)config["User"]);
        Assert.Equal(["/app/Kaito.Controller"], config["Entrypoint"]!.AsArray().Select(e => (string?)e));
        var labels = config["Labels"]!.AsObject();
        Assert.Equal("kaito-controller", (string?)labels["org.opencontainers.image.title"]);
        Assert.Equal(Version, (string?)labels["org.opencontainers.image.version"]);
        Assert.StartsWith("https://", (string?)labels["org.opencontainers.image.source"], StringComparison.Ordinal);
        Assert.Equal(images.BaseImage.Split('@')[0], (string?)labels["org.opencontainers.image.base.name"]);
        Assert.Equal(images.BaseImage.Split('@')[1], (string?)labels["org.opencontainers.image.base.digest"]);
        var (gitExit, head) = await RegistryProcess.RunAsync("git", ["-C", Repository.Root, "rev-parse", "HEAD"]);
        if (gitExit == 0)
        {
            Assert.Equal(head.Trim(), (string?)labels["org.opencontainers.image.revision"]);
        }
    }

    [Fact]
    public async Task LocalClustersKubeletRunsTheControllerImageAsItsUserAndItAnswersHealth()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var kubectl = cluster.Kubectl;
        (await kubectl.RunAsync(["apply", "-f", "-"], "apiVersion: v1\nkind: Node\nmetadata:\n  name: local-1\n", TimeSpan.FromSeconds(60))).EnsureSuccess();
        (await kubectl.RunAsync("create", "secret", "docker-registry", "regcred", $"--docker-server={images.Registry.Address}",
            $"--docker-username={images.Registry.User}", $"--docker-password={images.Registry.Password}")).EnsureSuccess();
        (await kubectl.RunAsync("create", "secret", "generic", "controller-kubeconfig", $"--from-file=kubeconfig={cluster.Kubeconfig}")).EnsureSuccess();

        // As a restricted pod runs it: another non-root uid than the image's, a read-only root, no capabilities.
        (await kubectl.RunAsync(["apply", "-f", "-"], $$$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: controller
            spec:
              imagePullSecrets: [{name: regcred}]
              securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
              containers:
              - name: controller
                image: {{{images.ControllerImage}}}
                args: ["--kubeconfig", "/etc/kaito/kubeconfig", "--install-crds", "true"]
                securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
                readinessProbe: {httpGet: {path: /health, port: 8081}, periodSeconds: 2}
                volumeMounts: [{name: kubeconfig, mountPath: /etc/kaito, readOnly: true}]
              volumes:
              - name: kubeconfig
                secret: {secretName: controller-kubeconfig}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();

        var podIp = await Eventually.ValueAsync(async () =>
        {
            var pod = JsonNode.Parse((await kubectl.RunAsync("get", "pod", "controller", "-o", "json")).EnsureSuccess().Output)!;
            var ready = pod["status"]?["conditions"]?.AsArray().Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True") == true;
            return ready ? (string?)pod["status"]!["podIP"] : null;
        }, TimeSpan.FromMinutes(3), () => Describe(kubectl));

        using var http = new HttpClient();
        var health = await http.GetAsync(new Uri($"http://{podIp}:8081/health"));
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);

        var status = JsonNode.Parse((await kubectl.RunAsync("get", "pod", "controller", "-o", "json")).EnsureSuccess().Output)!["status"]!["containerStatuses"]![0]!;
        Assert.EndsWith(images.ControllerImage.Split('@')[1], (string?)status["imageID"], StringComparison.Ordinal);
        var events = (await kubectl.RunAsync("get", "events", "--field-selector", "involvedObject.name=controller", "-o", "jsonpath={.items[*].message}")).EnsureSuccess().Output;
        Assert.Contains($"Successfully pulled image \"{images.ControllerImage}\"", events, StringComparison.Ordinal);

        // The image's own file system and user, not the host's: the process is /app/Kaito.Controller as uid 65532,
        // and its root has the image's /etc/passwd.
        var pid = Assert.Single(Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)),
            d => TryRead(Path.Combine(d, "cmdline")).StartsWith("/app/Kaito.Controller\0", StringComparison.Ordinal)
                && TryRead(Path.Combine(d, "environ")).Split('\0').Contains($"KAITO_POD_IP={podIp}"));
        Assert.Matches(@"(?m)^Uid:\s+65532\s", TryRead(Path.Combine(pid, "status")));
        Assert.Contains("app:x:1654:", TryRead(Path.Combine(pid, "root", "etc", "passwd")), StringComparison.Ordinal);

        // A versioned tag is IfNotPresent: the next pod of the image starts from what the node has, without the registry;
        // Never with an image the node has not got is refused by name.
        foreach (var (name, image, policy) in new[] { ("again", images.ControllerImage.Split('@')[0], "IfNotPresent"), ("never", $"{images.Registry.Address}/kaito-nothing:1.0", "Never") })
        {
            (await kubectl.RunAsync(["apply", "-f", "-"], $$$"""
                apiVersion: v1
                kind: Pod
                metadata: {name: {{{name}}}}
                spec:
                  restartPolicy: Never
                  securityContext: {runAsNonRoot: true, runAsUser: 65532}
                  containers:
                  - {name: main, image: "{{{image}}}", imagePullPolicy: {{{policy}}}, args: ["--help"]}
                """, TimeSpan.FromSeconds(60))).EnsureSuccess();
        }

        await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "events", "--field-selector", "involvedObject.name=again", "-o", "jsonpath={.items[*].message}")).Output
                .Contains("already present on machine", StringComparison.Ordinal) ? "yes" : null, TimeSpan.FromMinutes(1), () => Describe(kubectl));
        Assert.DoesNotContain("Pulling image", (await kubectl.RunAsync("get", "events", "--field-selector", "involvedObject.name=again", "-o", "jsonpath={.items[*].message}")).Output, StringComparison.Ordinal);
        var never = await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "pod", "never", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")).Output is "ErrImageNeverPull" and var reason ? reason : null,
            TimeSpan.FromMinutes(1), () => Describe(kubectl));
        Assert.Equal("ErrImageNeverPull", never);
    }

    [Fact]
    public async Task APullThatFailsSaysWhyAndBacksOff()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var kubectl = cluster.Kubectl;
        (await kubectl.RunAsync(["apply", "-f", "-"], "apiVersion: v1\nkind: Node\nmetadata:\n  name: local-1\n", TimeSpan.FromSeconds(60))).EnsureSuccess();
        (await kubectl.RunAsync("run", "no-credentials", $"--image={images.ControllerImage.Split('@')[0]}", "--restart=Never")).EnsureSuccess();

        var waiting = await Eventually.ValueAsync(async () =>
        {
            var state = JsonNode.Parse((await kubectl.RunAsync("get", "pod", "no-credentials", "-o", "json")).EnsureSuccess().Output)!["status"]?["containerStatuses"]?[0]?["state"]?["waiting"];
            return (string?)state?["reason"] is "ErrImagePull" or "ImagePullBackOff" ? state : null;
        }, TimeSpan.FromMinutes(1), () => Describe(kubectl));
        Assert.Contains(images.Registry.Address, (string?)waiting["message"], StringComparison.Ordinal);
        Assert.Contains("authentication", (string?)waiting["message"], StringComparison.OrdinalIgnoreCase);

        // Then ImagePullBackOff while it keeps trying, and the pod never runs.
        await Eventually.ValueAsync(async () =>
            (await kubectl.RunAsync("get", "pod", "no-credentials", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")).Output == "ImagePullBackOff" ? "yes" : null,
            TimeSpan.FromMinutes(1), () => Describe(kubectl));
    }

    private async Task<HashSet<string>> LayerEntriesAsync(string image)
    {
        var directory = Directory.CreateTempSubdirectory("kaito-image-").FullName;
        try
        {
            // skopeo takes a digest or a tag, not both
            var byDigest = image.Split('@') is [var tagged, var digest] ? $"{tagged[..tagged.LastIndexOf(':')]}@{digest}" : image;
            var (exit, _, error) = await images.SkopeoAsync("copy", $"docker://{byDigest}", $"dir:{directory}");
            Assert.True(exit == 0, error);
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "manifest.json")))!;
            var entries = new HashSet<string>(StringComparer.Ordinal);
            foreach (var layer in manifest["layers"]!.AsArray())
            {
                await using var file = File.OpenRead(Path.Combine(directory, ((string)layer!["digest"]!)["sha256:".Length..]));
                await using var gzip = new GZipStream(file, CompressionMode.Decompress);
                using var tar = new TarReader(gzip);
                while (await tar.GetNextEntryAsync() is { } entry)
                {
                    entries.Add(entry.Name.TrimStart('.', '/').TrimEnd('/'));
                }
            }

            return entries;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static string Describe(Kubectl kubectl) =>
        kubectl.RunAsync("describe", "pods").GetAwaiter().GetResult().Output + kubectl.RunAsync("logs", "controller").GetAwaiter().GetResult().Output;

    [GeneratedRegex("<Version>([^<]+)</Version>")]
    private static partial Regex VersionPattern();
}
