using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// Decodes the protobuf request bodies kubectl's typed clients send (<c>kubectl create namespace|configmap|secret|
/// serviceaccount|role|clusterrole|rolebinding|clusterrolebinding|token</c>) into the JSON the rest of the server handles: the <c>k8s\0</c> envelope around a
/// <c>runtime.Unknown</c>, then the object by the field numbers of Kubernetes' generated.proto for those kinds.
/// A kind or field outside that table is refused with 415 naming it, never dropped; responses are always JSON,
/// which every client accepts.
/// </summary>
public static class ProtobufBodies
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    private enum Kind
    {
        String,
        Bytes,
        Bool,
        Int64,
        Time,
        Message,
        Map,
        MapBytes,
        RepeatedString,
        RepeatedMessage,
    }

    private sealed record Field(string Name, Kind Kind, Dictionary<int, Field>? Message = null);

    private static readonly Dictionary<int, Field> OwnerReference = new()
    {
        [1] = new("kind", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("uid", Kind.String),
        [5] = new("apiVersion", Kind.String),
        [6] = new("controller", Kind.Bool),
        [7] = new("blockOwnerDeletion", Kind.Bool),
    };

    private static readonly Dictionary<int, Field> ObjectMeta = new()
    {
        [1] = new("name", Kind.String),
        [2] = new("generateName", Kind.String),
        [3] = new("namespace", Kind.String),
        [4] = new("selfLink", Kind.String),
        [5] = new("uid", Kind.String),
        [6] = new("resourceVersion", Kind.String),
        [7] = new("generation", Kind.Int64),
        [8] = new("creationTimestamp", Kind.Time),
        [10] = new("deletionGracePeriodSeconds", Kind.Int64),
        [11] = new("labels", Kind.Map),
        [12] = new("annotations", Kind.Map),
        [13] = new("ownerReferences", Kind.RepeatedMessage, OwnerReference),
        [14] = new("finalizers", Kind.RepeatedString),
    };

    private static readonly Dictionary<int, Field> LocalObjectReference = new() { [1] = new("name", Kind.String) };

    // k8s.io/api/rbac/v1/generated.proto
    private static readonly Dictionary<int, Field> PolicyRule = new()
    {
        [1] = new("verbs", Kind.RepeatedString),
        [2] = new("apiGroups", Kind.RepeatedString),
        [3] = new("resources", Kind.RepeatedString),
        [4] = new("resourceNames", Kind.RepeatedString),
        [5] = new("nonResourceURLs", Kind.RepeatedString),
    };

    private static readonly Dictionary<int, Field> Subject = new()
    {
        [1] = new("kind", Kind.String),
        [2] = new("apiGroup", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("namespace", Kind.String),
    };

    private static readonly Dictionary<int, Field> RoleRef = new()
    {
        [1] = new("apiGroup", Kind.String),
        [2] = new("kind", Kind.String),
        [3] = new("name", Kind.String),
    };

    private static readonly Dictionary<int, Field> Role = new()
    {
        [1] = new("metadata", Kind.Message, ObjectMeta),
        [2] = new("rules", Kind.RepeatedMessage, PolicyRule),
    };

    private static readonly Dictionary<int, Field> Binding = new()
    {
        [1] = new("metadata", Kind.Message, ObjectMeta),
        [2] = new("subjects", Kind.RepeatedMessage, Subject),
        [3] = new("roleRef", Kind.Message, RoleRef),
    };

    private static readonly Dictionary<string, Dictionary<int, Field>> Kinds = new(StringComparer.Ordinal)
    {
        ["Namespace"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("spec", Kind.Message, new() { [1] = new("finalizers", Kind.RepeatedString) }),
            [3] = new("status", Kind.Message, new() { [1] = new("phase", Kind.String) }),
        },
        ["ConfigMap"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.Map),
            [3] = new("binaryData", Kind.MapBytes),
            [4] = new("immutable", Kind.Bool),
        },
        ["Secret"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.MapBytes),
            [3] = new("type", Kind.String),
            [4] = new("stringData", Kind.Map),
            [5] = new("immutable", Kind.Bool),
        },
        ["ServiceAccount"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [3] = new("imagePullSecrets", Kind.RepeatedMessage, LocalObjectReference),
            [4] = new("automountServiceAccountToken", Kind.Bool),
        },
        ["Role"] = Role,
        ["ClusterRole"] = Role,
        ["RoleBinding"] = Binding,
        ["ClusterRoleBinding"] = Binding,
        // k8s.io/api/authentication/v1/generated.proto (kubectl create token)
        ["TokenRequest"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("spec", Kind.Message, new()
            {
                [1] = new("audiences", Kind.RepeatedString),
                [3] = new("boundObjectRef", Kind.Message, new() { [1] = new("kind", Kind.String), [2] = new("apiVersion", Kind.String), [3] = new("name", Kind.String), [4] = new("uid", Kind.String) }),
                [4] = new("expirationSeconds", Kind.Int64),
            }),
            [3] = new("status", Kind.Message, new() { [1] = new("token", Kind.String), [2] = new("expirationTimestamp", Kind.Time) }),
        },
    };

    /// <summary>The JSON object a protobuf body holds.</summary>
    /// <exception cref="ApiException">415 for a kind or field this table does not know; 400 for a malformed body.</exception>
    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length < Magic.Length || !body[..Magic.Length].SequenceEqual(Magic))
        {
            throw new ApiException(400, "BadRequest", "the protobuf body does not start with the Kubernetes envelope (k8s\\0)");
        }

        try
        {
            var envelope = body[Magic.Length..];
            string? apiVersion = null, kind = null;
            ReadOnlySpan<byte> raw = default;
            var position = 0;
            while (position < envelope.Length)
            {
                var (number, wire) = Tag(envelope, ref position);
                switch (number, wire)
                {
                    case (1, 2):
                        var typeMeta = LengthDelimited(envelope, ref position);
                        var inner = 0;
                        while (inner < typeMeta.Length)
                        {
                            var (field, innerWire) = Tag(typeMeta, ref inner);
                            if (innerWire != 2)
                            {
                                Skip(typeMeta, ref inner, innerWire);
                                continue;
                            }

                            var text = Encoding.UTF8.GetString(LengthDelimited(typeMeta, ref inner));
                            (apiVersion, kind) = field == 1 ? (text, kind) : field == 2 ? (apiVersion, text) : (apiVersion, kind);
                        }

                        break;
                    case (2, 2):
                        raw = LengthDelimited(envelope, ref position);
                        break;
                    default:
                        Skip(envelope, ref position, wire);
                        break;
                }
            }

            if (kind is null || !Kinds.TryGetValue(kind, out var schema))
            {
                throw new ApiException(415, "UnsupportedMediaType",
                    $"LocalCluster decodes protobuf bodies of {string.Join(", ", Kinds.Keys)} only, not {kind ?? "an object without a kind"}; send application/json");
            }

            var json = Message(raw, schema, kind);
            json["apiVersion"] = apiVersion ?? "v1";
            json["kind"] = kind;
            return json;
        }
        catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or OverflowException
                                       or ArgumentException or FormatException)
        {
            throw new ApiException(400, "BadRequest", $"malformed protobuf body: {ex.Message}");
        }
    }

    private static JsonObject Message(ReadOnlySpan<byte> data, Dictionary<int, Field> schema, string path)
    {
        var json = new JsonObject();
        var position = 0;
        while (position < data.Length)
        {
            var (number, wire) = Tag(data, ref position);
            if (!schema.TryGetValue(number, out var field))
            {
                if (path.EndsWith(".metadata", StringComparison.Ordinal) && number == 17)
                {
                    Skip(data, ref position, wire); // managedFields: the server keeps its own
                    continue;
                }

                throw new ApiException(415, "UnsupportedMediaType",
                    string.Create(CultureInfo.InvariantCulture, $"LocalCluster cannot decode protobuf field {number} of {path}; send application/json"));
            }

            switch (field.Kind)
            {
                case Kind.String:
                    json[field.Name] = Encoding.UTF8.GetString(LengthDelimited(data, ref position));
                    break;
                case Kind.Bytes:
                    json[field.Name] = Convert.ToBase64String(LengthDelimited(data, ref position));
                    break;
                case Kind.Bool:
                    json[field.Name] = Varint(data, ref position) != 0;
                    break;
                case Kind.Int64:
                    json[field.Name] = (long)Varint(data, ref position);
                    break;
                case Kind.Time:
                    json[field.Name] = Time(LengthDelimited(data, ref position));
                    break;
                case Kind.Message:
                    json[field.Name] = Message(LengthDelimited(data, ref position), field.Message!, $"{path}.{field.Name}");
                    break;
                case Kind.Map or Kind.MapBytes:
                    var map = json[field.Name] as JsonObject ?? [];
                    json[field.Name] = map;
                    var (key, value) = Entry(LengthDelimited(data, ref position));
                    map[key] = field.Kind == Kind.Map ? Encoding.UTF8.GetString(value) : Convert.ToBase64String(value);
                    break;
                case Kind.RepeatedString:
                    Array(json, field.Name).Add(Encoding.UTF8.GetString(LengthDelimited(data, ref position)));
                    break;
                case Kind.RepeatedMessage:
                    Array(json, field.Name).Add(Message(LengthDelimited(data, ref position), field.Message!, $"{path}.{field.Name}"));
                    break;
            }
        }

        return json;
    }

    private static JsonArray Array(JsonObject json, string name)
    {
        var array = json[name] as JsonArray ?? [];
        json[name] = array;
        return array;
    }

    private static (string Key, byte[] Value) Entry(ReadOnlySpan<byte> data)
    {
        var key = "";
        var value = System.Array.Empty<byte>();
        var position = 0;
        while (position < data.Length)
        {
            var (number, wire) = Tag(data, ref position);
            if (wire != 2)
            {
                Skip(data, ref position, wire);
                continue;
            }

            var bytes = LengthDelimited(data, ref position);
            if (number == 1)
            {
                key = Encoding.UTF8.GetString(bytes);
            }
            else if (number == 2)
            {
                value = bytes.ToArray();
            }
        }

        return (key, value);
    }

    private static string Time(ReadOnlySpan<byte> data)
    {
        long seconds = 0;
        var position = 0;
        while (position < data.Length)
        {
            var (number, wire) = Tag(data, ref position);
            if (number == 1 && wire == 0)
            {
                seconds = (long)Varint(data, ref position);
            }
            else
            {
                Skip(data, ref position, wire);
            }
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    }

    private static (int Number, int Wire) Tag(ReadOnlySpan<byte> data, ref int position)
    {
        var tag = Varint(data, ref position);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static ReadOnlySpan<byte> LengthDelimited(ReadOnlySpan<byte> data, scoped ref int position)
    {
        var length = checked((int)Varint(data, ref position));
        var slice = data.Slice(position, length);
        position += length;
        return slice;
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int position, int wire)
    {
        switch (wire)
        {
            case 0:
                Varint(data, ref position);
                break;
            case 1:
                position += 8;
                break;
            case 2:
                LengthDelimited(data, ref position);
                break;
            case 5:
                position += 4;
                break;
            default:
                throw new InvalidDataException($"unsupported wire type {wire}");
        }
    }

    private static ulong Varint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("malformed varint");
    }
}
