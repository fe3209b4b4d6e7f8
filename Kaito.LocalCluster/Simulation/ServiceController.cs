using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Services: a ClusterIP from 10.96.0.0/16 (headless ones keep None), and Endpoints listing the ready pods the
/// selector picks (and the not-ready ones under notReadyAddresses, or as ready when publishNotReadyAddresses is set).
/// </summary>
internal sealed class ServiceController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        var pods = context.List(Kinds.Pod);
        var taken = context.List(Kinds.Service).Select(s => (string?)s["spec"]?["clusterIP"]).Where(ip => ip is not null).ToHashSet();
        foreach (var service in context.List(Kinds.Service).Where(s => !Objects.IsDeleting(s)))
        {
            if ((string?)service["spec"]?["clusterIP"] is null or "")
            {
                var withIp = service.DeepClone().AsObject();
                var ip = AllocateIp(service, taken);
                withIp["spec"] ??= new JsonObject();
                withIp["spec"]!["clusterIP"] = ip;
                withIp["spec"]!["clusterIPs"] = new JsonArray(ip);
                withIp["spec"]!["type"] ??= "ClusterIP";
                context.Update(Kinds.Service, service, withIp, status: false);
            }

            if (service["spec"]?["selector"] is not JsonObject selector || selector.Count == 0)
            {
                continue;
            }

            var publishNotReady = service["spec"]?["publishNotReadyAddresses"]?.GetValue<bool>() == true;
            var selected = pods.Where(p => Objects.Namespace(p) == Objects.Namespace(service) && !Objects.IsDeleting(p) &&
                                           (string?)p["status"]?["podIP"] is { Length: > 0 } &&
                                           selector.All(s => Objects.Labels(p).GetValueOrDefault(s.Key) == (string?)s.Value)).ToList();
            var ready = selected.Where(p => publishNotReady || Objects.ConditionStatus(p, "Ready") == "True").ToList();
            var notReady = selected.Except(ready).ToList();
            var subset = new JsonObject();
            if (ready.Count > 0)
            {
                subset["addresses"] = Addresses(ready);
            }

            if (notReady.Count > 0)
            {
                subset["notReadyAddresses"] = Addresses(notReady);
            }

            subset["ports"] = new JsonArray((service["spec"]?["ports"]?.AsArray().OfType<JsonObject>() ?? []).Select(p => (JsonNode?)new JsonObject
            {
                ["name"] = (string?)p["name"],
                ["port"] = Objects.Number(p["targetPort"] is JsonValue v && v.TryGetValue<long>(out var number) ? v : p["port"], 0),
                ["protocol"] = (string?)p["protocol"] ?? "TCP",
            }).ToArray());

            var endpoints = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Endpoints",
                ["metadata"] = new JsonObject
                {
                    ["name"] = Objects.Name(service),
                    ["namespace"] = Objects.Namespace(service),
                    ["labels"] = service["metadata"]?["labels"]?.DeepClone(),
                    ["ownerReferences"] = new JsonArray(Objects.ControllerReference(service)),
                },
                ["subsets"] = selected.Count > 0 ? new JsonArray(subset) : new JsonArray(),
            };

            var existing = context.List(Kinds.Endpoints).FirstOrDefault(e => Objects.Name(e) == Objects.Name(service) && Objects.Namespace(e) == Objects.Namespace(service));
            if (existing is null)
            {
                context.Create(Kinds.Endpoints, endpoints);
            }
            else
            {
                var updated = existing.DeepClone().AsObject();
                updated["subsets"] = endpoints["subsets"]!.DeepClone();
                context.Update(Kinds.Endpoints, existing, updated, status: false);
            }
        }
    }

    private static JsonArray Addresses(IEnumerable<JsonObject> pods) =>
        new(pods.Select(p => (JsonNode?)new JsonObject
        {
            ["ip"] = (string?)p["status"]!["podIP"],
            ["nodeName"] = (string?)p["spec"]?["nodeName"],
            ["targetRef"] = new JsonObject { ["kind"] = "Pod", ["name"] = Objects.Name(p), ["namespace"] = Objects.Namespace(p), ["uid"] = Objects.Uid(p) },
        }).ToArray());

    private static string AllocateIp(JsonObject service, HashSet<string?> taken)
    {
        var seed = Convert.ToInt32(Objects.Hash(JsonValue.Create(Objects.Uid(service)))[..4], 16);
        for (var attempt = 0; ; attempt++)
        {
            var value = (seed + attempt) % 65000 + 10;
            var ip = $"10.96.{value >> 8}.{value & 0xFF}";
            if (taken.Add(ip))
            {
                return ip;
            }
        }
    }
}
