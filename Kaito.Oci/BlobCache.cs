namespace Kaito.Oci;

/// <summary>
/// A content-addressed store of blobs shared by every pod on a node (<c>blobs/sha256/&lt;hex&gt;</c>): a blob is
/// downloaded once, into <c>partial/</c> where an interrupted download is resumed, verified, and only then moved in,
/// so whatever is under <c>blobs/</c> is whole. Pods pulling the same blob at once take turns on a per-blob lock file
/// (an advisory lock the kernel drops when a puller dies), so the second waits for the first and then reuses it.
/// </summary>
public sealed class BlobCache
{
    private readonly string _blobs;
    private readonly string _partial;
    private readonly string _locks;

    public BlobCache(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = root;
        _blobs = Path.Combine(root, "blobs", "sha256");
        _partial = Path.Combine(root, "partial");
        _locks = Path.Combine(root, "locks");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_partial);
        Directory.CreateDirectory(_locks);
    }

    public string Root { get; }

    /// <summary>Where the verified blob lives (whether or not it is there yet).</summary>
    public string PathOf(string digest) => Path.Combine(_blobs, Digests.Hex(digest));

    /// <summary>
    /// The cached blob's path, after <paramref name="download"/> filled a partial file (resumable: it keeps what an
    /// earlier attempt wrote) when the cache did not have it; <c>Downloaded</c> says which happened.
    /// </summary>
    public async Task<(string Path, bool Downloaded)> GetOrAddAsync(OciDescriptor blob, Func<string, Task> download, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(download);
        var path = PathOf(blob.Digest);
        if (Has(path, blob.Size))
        {
            return (path, false);
        }

        using var hold = await LockAsync(blob.Digest, cancellationToken);
        if (Has(path, blob.Size))
        {
            return (path, false);
        }

        var partial = Path.Combine(_partial, Digests.Hex(blob.Digest));
        await download(partial);
        File.Move(partial, path, overwrite: true);
        return (path, true);
    }

    private static bool Has(string path, long size)
    {
        var file = new FileInfo(path);
        return file.Exists && file.Length == size;
    }

    private async Task<FileStream> LockAsync(string digest, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_locks, Digests.Hex(digest));
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock on Unix: held until disposed or the process dies.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }
}
