using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Simulation;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// A container's environment as the kubelet builds it: <c>envFrom</c> (ConfigMaps and Secrets, with their prefix), then
/// <c>env</c> in order — plain values with <c>$(VAR)</c> references expanded, and <c>valueFrom</c> ConfigMap and Secret
/// keys, the downward API's <c>fieldRef</c> and <c>resourceFieldRef</c>. A missing source or key that is not optional
/// is the kubelet's CreateContainerConfigError, with its message.
/// </summary>
internal static class ContainerEnvironment
{
    public static (Dictionary<string, string>? Variables, string? Error) Build(JsonObject pod, JsonObject container, ClusterStore store)
    {
        var ns = Objects.Namespace(pod);
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var from in container["envFrom"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var prefix = (string?)from["prefix"] ?? "";
            var (kind, reference) = from["configMapRef"] is JsonObject c ? ("configmap", c) : ("secret", from["secretRef"] as JsonObject);
            if (reference is null)
            {
                continue;
            }

            var name = (string?)reference["name"] ?? "";
            var data = Data(kind, ns, name, store);
            if (data is null)
            {
                if (reference["optional"]?.GetValue<bool>() == true)
                {
                    continue;
                }

                return (null, $"{kind} \"{name}\" not found");
            }

            foreach (var (key, value) in data)
            {
                variables[prefix + key] = Encoding.UTF8.GetString(value);
            }
        }

        foreach (var variable in container["env"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var name = (string?)variable["name"] ?? "";
            if (variable["valueFrom"] is not JsonObject source)
            {
                variables[name] = Expand((string?)variable["value"] ?? "", variables);
                continue;
            }

            if (source["fieldRef"] is JsonObject field)
            {
                var path = (string?)field["fieldPath"] ?? "";
                variables[name] = FieldValue(pod, path) ?? "";
            }
            else if (source["resourceFieldRef"] is JsonObject resource)
            {
                variables[name] = ResourceValue(pod, container, resource, store);
            }
            else if ((source["configMapKeyRef"] ?? source["secretKeyRef"]) is JsonObject keyRef)
            {
                var kind = source["configMapKeyRef"] is not null ? "configmap" : "secret";
                var sourceName = (string?)keyRef["name"] ?? "";
                var key = (string?)keyRef["key"] ?? "";
                var optional = keyRef["optional"]?.GetValue<bool>() == true;
                var data = Data(kind, ns, sourceName, store);
                if (data is null)
                {
                    if (optional)
                    {
                        continue;
                    }

                    return (null, $"{kind} \"{sourceName}\" not found");
                }

                if (!data.TryGetValue(key, out var value))
                {
                    if (optional)
                    {
                        continue;
                    }

                    return (null, $"couldn't find key {key} in {(kind == "configmap" ? "ConfigMap" : "Secret")} {ns}/{sourceName}");
                }

                variables[name] = Encoding.UTF8.GetString(value);
            }
        }

        return (variables, null);
    }

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: defined names are replaced, <c>$$</c> escapes, anything else stays as written.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> variables)
    {
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '$' || i + 1 >= text.Length)
            {
                result.Append(text[i]);
                continue;
            }

            if (text[i + 1] == '$')
            {
                result.Append('$');
                i++;
                continue;
            }

            var close = text[i + 1] == '(' ? text.IndexOf(')', i + 2) : -1;
            if (close > 0 && variables.TryGetValue(text[(i + 2)..close], out var value))
            {
                result.Append(value);
                i = close;
                continue;
            }

            result.Append('$');
        }

        return result.ToString();
    }

    /// <summary>The downward API's field paths.</summary>
    public static string? FieldValue(JsonObject pod, string path)
    {
        if (path.StartsWith("metadata.labels['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal))
        {
            return (string?)pod["metadata"]?["labels"]?[path["metadata.labels['".Length..^2]] ?? "";
        }

        if (path.StartsWith("metadata.annotations['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal))
        {
            return (string?)pod["metadata"]?["annotations"]?[path["metadata.annotations['".Length..^2]] ?? "";
        }

        return path switch
        {
            "metadata.name" => Objects.Name(pod),
            "metadata.namespace" => Objects.Namespace(pod),
            "metadata.uid" => Objects.Uid(pod),
            "metadata.labels" => Pairs(pod["metadata"]?["labels"]),
            "metadata.annotations" => Pairs(pod["metadata"]?["annotations"]),
            "spec.nodeName" => (string?)pod["spec"]?["nodeName"] ?? "",
            "spec.serviceAccountName" => (string?)pod["spec"]?["serviceAccountName"] ?? "default",
            "status.hostIP" or "status.hostIPs" => (string?)pod["status"]?["hostIP"] ?? LoopbackAddresses.Node,
            "status.podIP" or "status.podIPs" => (string?)pod["status"]?["podIP"] ?? "",
            _ => null,
        };
    }

    private static string Pairs(JsonNode? map) =>
        string.Join('\n', (map?.AsObject() ?? []).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}=\"{p.Value}\""));

    /// <summary>
    /// The downward API's resourceFieldRef, as the kubelet resolves it: the container's limit (for a request, its
    /// request), and without one the node's allocatable; divided by <c>divisor</c> (1 by default) and rounded up.
    /// </summary>
    private static string ResourceValue(JsonObject pod, JsonObject container, JsonObject reference, ClusterStore store)
    {
        var resource = (string?)reference["resource"] ?? "";
        var kind = resource.Split('.') is [_, var name] ? name : resource;
        var own = resource.StartsWith("requests.", StringComparison.Ordinal)
            ? container["resources"]?["requests"]?[kind]
            : container["resources"]?["limits"]?[kind];
        var node = store.Get(new ObjectKey(Kinds.Node.GroupResource, "", (string?)pod["spec"]?["nodeName"] ?? ""));
        var quantity = own ?? node?["status"]?["allocatable"]?[kind];
        var divisor = (string?)reference["divisor"] is { Length: > 0 } d ? Quantities.Parse(d) : 1m;
        var value = quantity is null ? 0m : Quantities.Parse(quantity.ToString()) / (divisor == 0 ? 1 : divisor);
        return Math.Ceiling(value).ToString(CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, byte[]>? Data(string kind, string ns, string name, ClusterStore store) =>
        kind == "configmap"
            ? store.Get(new ObjectKey(Kinds.ConfigMap.GroupResource, ns, name)) is { } configMap ? PodVolumes.ConfigMapData(configMap) : null
            : store.Get(new ObjectKey(Kinds.Secret.GroupResource, ns, name)) is { } secret ? PodVolumes.SecretData(secret) : null;
}
