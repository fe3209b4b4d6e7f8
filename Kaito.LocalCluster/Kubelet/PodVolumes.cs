using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// A pod's volumes as folders in its sandbox, as the kubelet's volume plugins make them: emptyDir (a fresh folder per
/// pod), persistentVolumeClaim (a folder per claim that outlives the pod, under the kubelet's root), configMap, secret,
/// downwardAPI and projected (files written atomically through a <c>..data</c> link, so a reader never sees half an
/// update, and rewritten when their source changes), hostPath (a folder of the pod's node, under the kubelet's root, so
/// that pods on one node share it and nothing on the real host is exposed). Other volume types are not supported here: a pod using one is
/// simulated.
/// </summary>
internal sealed class PodVolumes(string podDirectory, string claimsDirectory, string nodesDirectory)
{
    private readonly Dictionary<string, string> _written = [];

    /// <summary>Why this pod's volumes cannot be made here, or null.</summary>
    public static string? Unsupported(JsonObject pod)
    {
        foreach (var volume in pod["spec"]?["volumes"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var type = volume.Select(p => p.Key).FirstOrDefault(k => k != "name") ?? "(none)";
            if (type is not ("emptyDir" or "persistentVolumeClaim" or "configMap" or "secret" or "downwardAPI" or "projected" or "hostPath"))
            {
                return $"simulated (volume {(string?)volume["name"]}: {type} volumes are not supported locally)";
            }

            if (volume["hostPath"] is JsonObject host && (string?)host["type"] is { Length: > 0 } hostType && hostType is not ("Directory" or "DirectoryOrCreate"))
            {
                return $"simulated (volume {(string?)volume["name"]}: hostPath of type {hostType} is not supported locally)";
            }

            foreach (var source in volume["projected"]?["sources"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                var kind = source.Select(p => p.Key).FirstOrDefault();
                if (kind is not ("configMap" or "secret" or "downwardAPI"))
                {
                    return $"simulated (volume {(string?)volume["name"]}: projected {kind} sources are not supported locally)";
                }
            }
        }

        return null;
    }

    public string PathOf(string volume) => Path.Combine(podDirectory, "volumes", volume);

    /// <summary>The node folder a hostPath names, linked at <paramref name="path"/>; kubelet's check of the type's rule, or null.</summary>
    private string? HostPath(JsonObject host, string node, string path)
    {
        var hostPath = (string?)host["path"] ?? "";
        if (!hostPath.StartsWith('/') || hostPath.Split('/').Any(part => part is ".." or ".") || node.Length == 0 || node.Contains('/', StringComparison.Ordinal))
        {
            return $"hostPath \"{hostPath}\" is not an absolute path";
        }

        var folder = Path.Combine(nodesDirectory, node, hostPath.TrimStart('/'));
        if ((string?)host["type"] == "Directory" && !Directory.Exists(folder))
        {
            return $"hostPath type check failed: {hostPath} is not a directory";
        }

        Directory.CreateDirectory(folder);
        Link(path, folder);
        return null;
    }

    /// <summary>
    /// Makes every volume (or brings its files up to date); the first problem (a missing ConfigMap, Secret, key or
    /// claim, as kubelet's MountVolume.SetUp reports it) when one cannot be made, else null.
    /// </summary>
    public string? Prepare(JsonObject pod, ClusterStore store)
    {
        var ns = Objects.Namespace(pod);
        foreach (var volume in pod["spec"]?["volumes"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var name = (string)volume["name"]!;
            var path = PathOf(name);
            string? problem = null;
            if (volume["emptyDir"] is not null)
            {
                Directory.CreateDirectory(path);
            }
            else if (volume["hostPath"] is JsonObject host)
            {
                problem = HostPath(host, (string?)pod["spec"]?["nodeName"] ?? "", path);
            }
            else if (volume["persistentVolumeClaim"] is JsonObject claimSource)
            {
                var claimName = (string?)claimSource["claimName"] ?? "";
                var claim = store.Get(new ObjectKey(Kinds.PersistentVolumeClaim.GroupResource, ns, claimName));
                if (claim is null)
                {
                    problem = $"persistentvolumeclaim \"{claimName}\" not found";
                }
                else
                {
                    var storage = Path.Combine(claimsDirectory, Objects.Uid(claim));
                    Directory.CreateDirectory(storage);
                    Link(path, storage);
                }
            }
            else
            {
                var files = new SortedDictionary<string, (byte[] Data, UnixFileMode Mode)>(StringComparer.Ordinal);
                problem = Project(volume, pod, store, files);
                if (problem is null)
                {
                    WriteAtomically(name, path, files);
                }
            }

            if (problem is not null)
            {
                return $"MountVolume.SetUp failed for volume \"{name}\" : {problem}";
            }
        }

        return null;
    }

    /// <summary>The files of a configMap, secret, downwardAPI or projected volume.</summary>
    private static string? Project(JsonObject volume, JsonObject pod, ClusterStore store, IDictionary<string, (byte[], UnixFileMode)> files)
    {
        if (volume["projected"] is JsonObject projected)
        {
            var mode = Mode(projected["defaultMode"], 420);
            foreach (var source in projected["sources"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (Project(source, pod, store, files, mode) is { } problem)
                {
                    return problem;
                }
            }

            return null;
        }

        return Project(volume, pod, store, files, Mode(volume.Select(p => p.Value).OfType<JsonObject>().FirstOrDefault()?["defaultMode"], 420));
    }

    private static string? Project(JsonObject source, JsonObject pod, ClusterStore store, IDictionary<string, (byte[], UnixFileMode)> files, UnixFileMode defaultMode)
    {
        var ns = Objects.Namespace(pod);
        if (source["configMap"] is JsonObject configMap)
        {
            return Keys(configMap, "configmap", "config", store.Get(new ObjectKey(Kinds.ConfigMap.GroupResource, ns, (string?)configMap["name"] ?? "")) is { } item
                ? ConfigMapData(item) : null, files, defaultMode);
        }

        if (source["secret"] is JsonObject secret)
        {
            var name = (string?)secret["secretName"] ?? (string?)secret["name"] ?? "";
            return Keys(secret, "secret", "secret", store.Get(new ObjectKey(Kinds.Secret.GroupResource, ns, name)) is { } item ? SecretData(item) : null, files, defaultMode, name);
        }

        if (source["downwardAPI"] is JsonObject downward)
        {
            foreach (var item in downward["items"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                var value = item["fieldRef"] is JsonObject field ? ContainerEnvironment.FieldValue(pod, (string?)field["fieldPath"] ?? "") : null;
                if (value is null)
                {
                    return $"unsupported downward API item {(string?)item["path"]}";
                }

                files[(string)item["path"]!] = (Encoding.UTF8.GetBytes(value), Mode(item["mode"], (int)defaultMode));
            }
        }

        return null;
    }

    private static string? Keys(JsonObject source, string kind, string keyKind, Dictionary<string, byte[]>? data, IDictionary<string, (byte[], UnixFileMode)> files, UnixFileMode defaultMode, string? name = null)
    {
        name ??= (string?)source["name"] ?? "";
        var optional = source["optional"]?.GetValue<bool>() == true;
        if (data is null)
        {
            return optional ? null : $"{kind} \"{name}\" not found";
        }

        if (source["items"] is JsonArray items && items.Count > 0)
        {
            foreach (var item in items.OfType<JsonObject>())
            {
                var key = (string?)item["key"] ?? "";
                if (!data.TryGetValue(key, out var bytes))
                {
                    if (optional)
                    {
                        continue;
                    }

                    return $"{kind} references non-existent {keyKind} key: {key}";
                }

                files[(string?)item["path"] ?? key] = (bytes, Mode(item["mode"], (int)defaultMode));
            }
        }
        else
        {
            foreach (var (key, bytes) in data)
            {
                files[key] = (bytes, defaultMode);
            }
        }

        return null;
    }

    public static Dictionary<string, byte[]> ConfigMapData(JsonObject configMap)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in configMap["data"]?.AsObject() ?? [])
        {
            data[key] = Encoding.UTF8.GetBytes(value?.ToString() ?? "");
        }

        foreach (var (key, value) in configMap["binaryData"]?.AsObject() ?? [])
        {
            data[key] = Convert.FromBase64String(value?.ToString() ?? "");
        }

        return data;
    }

    public static Dictionary<string, byte[]> SecretData(JsonObject secret)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in secret["data"]?.AsObject() ?? [])
        {
            data[key] = Convert.FromBase64String(value?.ToString() ?? "");
        }

        foreach (var (key, value) in secret["stringData"]?.AsObject() ?? [])
        {
            data[key] = Encoding.UTF8.GetBytes(value?.ToString() ?? "");
        }

        return data;
    }

    /// <summary>
    /// The kubelet's AtomicWriter: the files go into a new hidden folder, <c>..data</c> is switched to it with one
    /// rename, and each visible name links through <c>..data</c>; nothing is written when the content did not change.
    /// </summary>
    private void WriteAtomically(string volume, string path, SortedDictionary<string, (byte[] Data, UnixFileMode Mode)> files)
    {
        var digest = new StringBuilder();
        foreach (var (file, (data, mode)) in files)
        {
            digest.Append(file).Append('\0').Append(Convert.ToHexString(SHA256.HashData(data))).Append('\0').Append((int)mode).Append('\n');
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(digest.ToString())))[..16];
        if (_written.GetValueOrDefault(volume) == hash && Directory.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(path);
        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss.fffffff}";
        var versionPath = Path.Combine(path, version);
        foreach (var (file, (data, mode)) in files)
        {
            if (file.Split('/').Any(segment => segment is ".." or "") || file.StartsWith('/'))
            {
                continue; // the API server refuses such paths; never write outside the volume
            }

            var target = Path.Combine(versionPath, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, data);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, mode);
            }
        }

        Directory.CreateDirectory(versionPath);
        var staged = Path.Combine(path, "..data_tmp");
        File.Delete(staged);
        File.CreateSymbolicLink(staged, version);
        Native.Rename(staged, Path.Combine(path, "..data"));

        var visible = files.Keys.Select(f => f.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(path))
        {
            var name = Path.GetFileName(entry);
            if (name.StartsWith("..", StringComparison.Ordinal))
            {
                if (name != "..data" && name != version)
                {
                    Remove(entry);
                }
            }
            else if (!visible.Contains(name))
            {
                Remove(entry);
            }
        }

        foreach (var name in visible.Where(n => !Path.Exists(Path.Combine(path, n))))
        {
            File.CreateSymbolicLink(Path.Combine(path, name), Path.Combine("..data", name));
        }

        _written[volume] = hash;
    }

    private static void Link(string path, string target)
    {
        if (new FileInfo(path).LinkTarget == target)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        File.CreateSymbolicLink(path, target);
    }

    private static void Remove(string entry)
    {
        if (new FileInfo(entry).LinkTarget is not null || File.Exists(entry))
        {
            File.Delete(entry);
        }
        else
        {
            Directory.Delete(entry, recursive: true);
        }
    }

    private static UnixFileMode Mode(JsonNode? node, int fallback) =>
        (UnixFileMode)(JsonNumbers.ReadLong(node) is { } mode ? (int)mode : fallback);
}
