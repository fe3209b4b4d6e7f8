using System.Text;
using Kaito.Oci;
using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>The OCI pieces on their own: references, manifests from untrusted registries, layer paths, the node cache.</summary>
public sealed class OciTests
{
    [Theory]
    [InlineData("localhost:5001/kaito-kaito-tiny:0.1.0", "localhost:5001", "kaito-kaito-tiny", "0.1.0", true)]
    [InlineData("127.0.0.1:40000/kaito-phi-4:0.2.0", "127.0.0.1:40000", "kaito-phi-4", "0.2.0", true)]
    [InlineData("mcr.microsoft.com/aks/kaito/kaito-phi-3-mini-4k-instruct:0.2.0", "mcr.microsoft.com", "aks/kaito/kaito-phi-3-mini-4k-instruct", "0.2.0", false)]
    [InlineData("busybox", "registry-1.docker.io", "library/busybox", "latest", false)]
    public void ReferencesParseAsDockerDoes(string text, string registry, string repository, string tag, bool loopback)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal((registry, repository, tag, loopback), (reference.Registry, reference.Repository, reference.Tag, reference.IsLoopbackRegistry));
    }

    [Fact]
    public void ADigestPinsTheManifest()
    {
        var digest = "sha256:" + new string('a', 64);

        var reference = ImageReference.Parse($"myacr.azurecr.io/kaito-phi-4:0.2.0@{digest}");

        Assert.Equal(digest, reference.ManifestReference);
        Assert.Equal($"myacr.azurecr.io/kaito-phi-4:0.2.0@{digest}", reference.ToString());
    }

    [Theory]
    [InlineData("Registry.io/UPPER:1")]
    [InlineData("registry.io/repo:tag@sha256:short")]
    [InlineData("registry.io/../etc:1")]
    [InlineData("registry.io/repo:ta/g")]
    public void BadReferencesAreRefusedNamingThem(string text) =>
        Assert.Contains(text.Split('@')[0], Assert.Throws<ArgumentException>(() => ImageReference.Parse(text)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("""{"schemaVersion":2,"config":{"digest":"sha256:../../etc/passwd","size":1},"layers":[]}""", "config.digest")]
    [InlineData("""{"schemaVersion":2,"config":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":-1},"layers":[]}""", "config.size is negative")]
    [InlineData("""{"schemaVersion":1}""", "schemaVersion is not 2")]
    [InlineData("""{"schemaVersion":2,"config":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1},"layers":[{"digest":"md5:x","size":1}]}""", "layers[0].digest")]
    [InlineData("not json", "is not JSON")]
    public void AManifestThatCouldMisleadThePullerIsRefused(string json, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => OciManifest.Parse(Encoding.UTF8.GetBytes(json), "registry.io/x:1"));

        Assert.Contains("registry.io/x:1", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AManifestWithMoreLayersThanTheLimitIsRefused()
    {
        var layer = """{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1}""";
        var json = $$"""{"schemaVersion":2,"config":{{layer}},"layers":[{{string.Join(',', Enumerable.Repeat(layer, OciManifest.MaxLayers + 1))}}]}""";

        Assert.Contains("more than 4096", Assert.Throws<InvalidDataException>(() => OciManifest.Parse(Encoding.UTF8.GetBytes(json), "x")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("/etc/passwd")]
    [InlineData("onnx/../../outside")]
    [InlineData("a\\b")]
    [InlineData("")]
    [InlineData("a//b")]
    public void ALayerTitleCannotWriteOutsideTheWeightsFolder(string title) =>
        Assert.Throws<InvalidDataException>(() => ModelImage.FilePath("/workspace/weights", title));

    [Fact]
    public void ALayerTitleWithFoldersLandsInsideTheWeightsFolder() =>
        Assert.Equal("/workspace/weights/onnx/cpu-fp32/model.onnx", ModelImage.FilePath("/workspace/weights", "onnx/cpu-fp32/model.onnx"));

    [Fact]
    public void PackingIsReproducibleAndLeavesHiddenFilesOut()
    {
        var folder = Directory.CreateTempSubdirectory("kaito-pack-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
            Directory.CreateDirectory(Path.Combine(folder, ".git"));
            File.WriteAllText(Path.Combine(folder, ".git", "HEAD"), "x");
            var info = new ModelImageInfo("m", "rev", "fp16", "huggingface");

            var (first, _, files) = ModelImage.Pack(folder, info);
            var (second, _, _) = ModelImage.Pack(folder, info);

            Assert.Equal(first.ToJson(), second.ToJson());
            Assert.Equal(["config.json"], files.Select(f => f.Blob.Title));
            Assert.Equal("rev", first.Annotations[ModelImage.RevisionAnnotation]);
            Assert.Equal(ModelImage.ArtifactType, first.ArtifactType);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task PodsPullingTheSameBlobAtOnceDownloadItOnce()
    {
        var root = Directory.CreateTempSubdirectory("kaito-cache-").FullName;
        try
        {
            var content = Encoding.UTF8.GetBytes("weights");
            var blob = new OciDescriptor(ModelImage.FileMediaType, Digests.Of(content), content.Length);
            var downloads = 0;
            var gate = new TaskCompletionSource();

            async Task Download(string partial)
            {
                Interlocked.Increment(ref downloads);
                await gate.Task;
                await File.WriteAllBytesAsync(partial, content);
            }

            // Two caches over one folder, as two pullers on one node.
            var first = new BlobCache(root).GetOrAddAsync(blob, Download, CancellationToken.None);
            var second = new BlobCache(root).GetOrAddAsync(blob, Download, CancellationToken.None);
            await Eventually.TrueAsync(() => Volatile.Read(ref downloads) == 1);
            gate.SetResult();
            var results = await Task.WhenAll(first, second);

            Assert.Equal(1, downloads);
            Assert.Single(results, r => r.Downloaded);
            Assert.Equal(content, await File.ReadAllBytesAsync(results[0].Path));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
