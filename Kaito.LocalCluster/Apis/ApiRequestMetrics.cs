using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// kube-apiserver's <c>apiserver_request_total{verb,group,resource,code}</c>, served at <c>/metrics</c> in the
/// Prometheus text format (<c>kubectl get --raw /metrics</c>), and the same by client, so tests and benchmarks count
/// what each component asked for.
/// </summary>
public sealed class ApiRequestMetrics
{
    private readonly ConcurrentDictionary<(string Verb, string Group, string Resource, int Code), long> _requests = new();
    private readonly ConcurrentDictionary<(string Client, string Verb), long> _clients = new();

    /// <summary>Counts a request; <paramref name="userAgent"/>'s first product (<c>Kaito.Controller</c>, <c>kubectl</c>) names the client.</summary>
    public void Record(string verb, string group, string resource, int code, string? userAgent)
    {
        _requests.AddOrUpdate((verb, group, resource, code), 1, (_, count) => count + 1);
        var client = (userAgent ?? "").Split('/', ' ')[0];
        _clients.AddOrUpdate((client.Length == 0 ? "unknown" : client, verb), 1, (_, count) => count + 1);
    }

    public string Render()
    {
        var text = new StringBuilder();
        text.Append("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, resource and HTTP response code.\n");
        text.Append("# TYPE apiserver_request_total counter\n");
        foreach (var ((verb, group, resource, code), count) in _requests.OrderBy(r => r.Key.Resource, StringComparer.Ordinal).ThenBy(r => r.Key.Verb, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"apiserver_request_total{{code=\"{code}\",group=\"{group}\",resource=\"{resource}\",verb=\"{verb.ToUpperInvariant()}\"}} {count}\n");
        }

        text.Append("# HELP localcluster_client_requests_total Requests by client (the User-Agent's first product) and verb; LocalCluster's own.\n");
        text.Append("# TYPE localcluster_client_requests_total counter\n");
        foreach (var ((client, verb), count) in _clients.OrderBy(c => c.Key.Client, StringComparer.Ordinal).ThenBy(c => c.Key.Verb, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"localcluster_client_requests_total{{client=\"{client}\",verb=\"{verb.ToUpperInvariant()}\"}} {count}\n");
        }

        return text.ToString();
    }
}
