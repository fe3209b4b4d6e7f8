using System.Formats.Tar;
using System.Net;
using System.Text;
using Kaito.LocalCluster.Kubelet;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kaito.LocalCluster.Tests;

/// <summary>Image layers are untrusted bytes unpacked as root on the host: they stay inside their root, within limits, with OCI's whiteouts.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LayerArchiveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-layer-root-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("kaito-layer-outside-").FullName;

    [Fact]
    public void LinksAreFollowedInsideTheRootNeverOutOfIt()
    {
        Apply(Layer(
            Symlink("escape", _outside),              // absolute: the image's own /tmp/…, not the host's
            Symlink("up", "../../../../../.."),        // climbs no higher than the root
            File("escape/pwned", "x"),
            File("up/also", "y")));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
        Assert.Equal("x", System.IO.File.ReadAllText(Path.Join(_root, _outside, "pwned")));
        Assert.Equal("y", System.IO.File.ReadAllText(Path.Join(_root, "also")));
    }

    [Fact]
    public void DotDotEntriesAreRefusedNamingTheEntry()
    {
        var error = Assert.Throws<InvalidDataException>(() => Apply(Layer(File("a/../../evil", "x"))));
        Assert.Contains("a/../../evil", error.Message, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(Path.Combine(Path.GetDirectoryName(_root)!, "evil")));
    }

    [Fact]
    public void WhiteoutsDeleteWhatLowerLayersHad()
    {
        Apply(Layer(File("etc/keep", "1"), File("etc/gone", "2"), File("opaque/old", "3"), File("bin/tool", "4")));
        Apply(Layer(File("etc/.wh.gone", ""), File("opaque/new", "5"), File("opaque/.wh..wh..opq", ""), File(".wh.bin", "")));

        Assert.True(System.IO.File.Exists(Path.Combine(_root, "etc", "keep")));
        Assert.False(System.IO.File.Exists(Path.Combine(_root, "etc", "gone")));
        Assert.Equal(["new"], Directory.EnumerateFileSystemEntries(Path.Combine(_root, "opaque")).Select(Path.GetFileName));
        Assert.False(Directory.Exists(Path.Combine(_root, "bin")));
    }

    [Fact]
    public void HardLinksMayPrecedeTheirTargetAndModesAreKept()
    {
        Apply(Layer(HardLink("app/alias", "app/tool"), File("app/tool", "#!", mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)));
        Assert.Equal("#!", System.IO.File.ReadAllText(Path.Combine(_root, "app", "alias")));
        Assert.True(System.IO.File.GetUnixFileMode(Path.Combine(_root, "app", "tool")).HasFlag(UnixFileMode.UserExecute));
    }

    [Fact]
    public void AnImageOverItsLimitsIsRefused()
    {
        var limits = new LayerArchive.Limits(MaxBytes: 10, MaxEntries: 100);
        using var layer = Layer(File("small", "12345"), File("big", "1234567890"));
        var error = Assert.Throws<InvalidDataException>(() => LayerArchive.Apply(layer, gzip: false, _root, limits, "test layer"));
        Assert.Contains("more than 10 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("big", error.Message, StringComparison.Ordinal);

        using var many = Layer(File("a", ""), File("b", ""), File("c", ""));
        Assert.Throws<InvalidDataException>(() => LayerArchive.Apply(many, gzip: false, _root, new LayerArchive.Limits(1 << 20, 2), "test layer"));
    }

    [Fact]
    public async Task TheKubeletPullsFromThisMachineOnlyAndRefusesBeforeConnecting()
    {
        Assert.True(ImageStore.CanPull("localhost:5001/kaito-controller:0.1.0"));
        Assert.True(ImageStore.CanPull("127.0.0.1:5001/kaito-controller:0.1.0"));
        Assert.False(ImageStore.CanPull("ghcr.io/kaito-dotnet/kaito-controller:0.1.0"));
        Assert.False(ImageStore.CanPull("busybox"));

        // A resolver that says "localhost" is elsewhere (a documentation address): the connection is refused before any socket opens.
        var asked = new List<string>();
        using var store = new ImageStore(Path.Combine(_root, "images"), NullLogger.Instance, 1 << 20, 100, (host, _) =>
        {
            asked.Add(host);
            return ValueTask.FromResult(new[] { IPAddress.Parse("192.0.2.10") });
        });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => store.PullAsync("localhost:5999/kaito-controller:0.1.0", [], CancellationToken.None));
        Assert.Equal(["localhost"], asked.Distinct());
        Assert.Contains("pulls images from this machine only", Flatten(error), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    private static string Flatten(Exception error) => error.InnerException is null ? error.Message : error.Message + " / " + Flatten(error.InnerException);

    private void Apply(Stream layer)
    {
        using (layer)
        {
            LayerArchive.Apply(layer, gzip: false, _root, new LayerArchive.Limits(1 << 20, 1000), "test layer");
        }
    }

    private static MemoryStream Layer(params TarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }

        stream.Position = 0;
        return stream;
    }

    private static PaxTarEntry File(string name, string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)), Mode = mode };

    private static PaxTarEntry Symlink(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    private static PaxTarEntry HardLink(string name, string target) => new(TarEntryType.HardLink, name) { LinkName = target };
}
