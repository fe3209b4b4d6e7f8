using System.Net;
using System.Text;
using Kaito.LocalCluster.Apis;
using Kaito.LocalCluster.Storage;
using Kaito.Testing;
using Xunit.Abstractions;

namespace Kaito.LocalCluster.Tests;

/// <summary>
/// LocalCluster's request bodies against mutated inputs (seeded, repeatable): protobuf bodies decode or are refused
/// with an API error (400/415), and JSON bodies sent to the running server get a 2xx or 4xx — never a 500 — while it
/// keeps serving.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void ProtobufBodies()
    {
        byte[][] seeds =
        [
            Envelope("v1", "Namespace", Message((1, Message((1, Text("fuzzed")), (11, Message((1, Text("team")), (2, Text("kaito")))))))),
            Envelope("v1", "ConfigMap", Message((1, Message((1, Text("config")), (3, Text("default")))), (2, Message((1, Text("training_config.yaml")), (2, Text("a: 1\n")))))),
            Envelope("v1", "Secret", Message((1, Message((1, Text("push")))), (2, Message((1, Text(".dockerconfigjson")), (2, Text("{\"auths\":{}}")))), (3, Text("kubernetes.io/dockerconfigjson")))),
        ];

        output.WriteLine(Fuzzer.Run("protobuf request bodies", seeds, 20_000, 31, bytes => Apis.ProtobufBodies.Decode(bytes), e => e is ApiException).ToString());
    }

    [Fact]
    public async Task JsonBodiesOverHttp()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--LocalCluster:Simulation:Enabled=false");
        using var http = RawApi.Create(cluster.Kubeconfig);
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"fuzzed-","labels":{"a":"b"}},"data":{"k":"v"}}"""),
            Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"Secret","metadata":{"generateName":"s-"},"stringData":{"k":"v"},"type":"Opaque"}"""),
            Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"p-"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"1"}}}]}}"""),
        ];
        string[] targets = ["api/v1/namespaces/default/configmaps", "api/v1/namespaces/default/secrets", "api/v1/namespaces/default/pods"];
        var index = 0;

        var report = await Fuzzer.RunAsync("JSON request bodies (LocalCluster over HTTPS)", seeds, 3000, 32, async bytes =>
        {
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(targets[index++ % targets.Length], content);
            var status = (int)response.StatusCode;
            return status < 500 ? status < 300 : throw new InvalidOperationException($"HTTP {status}: {await response.Content.ReadAsStringAsync()}");
        });
        var health = await http.GetAsync("/healthz");

        output.WriteLine(report.ToString());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static byte[] Envelope(string apiVersion, string kind, byte[] raw) =>
        [0x6b, 0x38, 0x73, 0x00, .. Message((1, Message((1, Text(apiVersion)), (2, Text(kind)))), (2, raw), (4, Text("application/vnd.kubernetes.protobuf")))];

    private static byte[] Text(string value) => Encoding.UTF8.GetBytes(value);

    /// <summary>A protobuf message of length-delimited fields.</summary>
    private static byte[] Message(params (int Number, byte[] Value)[] fields)
    {
        var bytes = new List<byte>();
        foreach (var (number, value) in fields)
        {
            Varint(bytes, (ulong)((number << 3) | 2));
            Varint(bytes, (ulong)value.Length);
            bytes.AddRange(value);
        }

        return [.. bytes];
    }

    private static void Varint(List<byte> bytes, ulong value)
    {
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
    }
}
