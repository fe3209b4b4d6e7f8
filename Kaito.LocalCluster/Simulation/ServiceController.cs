using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// Services: a ClusterIP from 127.96.0.0/16 (headless ones keep None); a node port on every port of a NodePort or
/// LoadBalancer Service, and for a LoadBalancer the ingress 127.0.0.1 in its status (reached at the node port); and
/// Endpoints listing the ready pods the selector picks (and the not-ready ones under notReadyAddresses, or as ready when
/// publishNotReadyAddresses is set).
/// </summary>
internal sealed class ServiceController : ISimulatedController
{
    public void Reconcile(SimulationContext context)
    {
        var pods = context.List(Kinds.Pod);
        var services = context.List(Kinds.Service);
        var taken = services.Select(s => (string?)s["spec"]?["clusterIP"]).OfType<string>().ToHashSet();
        var takenPorts = services.SelectMany(s => s["spec"]?["ports"]?.AsArray() ?? []).Select(p => (int)Objects.Number(p?["nodePort"], 0)).Where(p => p > 0).ToHashSet();
        foreach (var service in services.Where(s => !Objects.IsDeleting(s)))
        {
            var allocated = Allocate(service, taken, takenPorts);
            if (allocated is not null)
            {
                context.Update(Kinds.Service, service, allocated, status: false);
            }

            if ((string?)service["spec"]?["type"] == "LoadBalancer" && service["status"]?["loadBalancer"]?["ingress"] is null && allocated is null)
            {
                var withIngress = service.DeepClone().AsObject();
                withIngress["status"] = new JsonObject
                {
                    ["loadBalancer"] = new JsonObject
                    {
                        ["ingress"] = new JsonArray(new JsonObject
                        {
                            ["ip"] = LoopbackAddresses.Node,
                            ["ipMode"] = "Proxy",
                            ["ports"] = new JsonArray((service["spec"]?["ports"]?.AsArray().OfType<JsonObject>() ?? []).Select(p => (JsonNode?)new JsonObject
                            {
                                ["port"] = Objects.Number(p["nodePort"], 0),
                                ["protocol"] = (string?)p["protocol"] ?? "TCP",
                            }).ToArray()),
                        }),
                    },
                };
                context.Update(Kinds.Service, service, withIngress, status: true);
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
                ["port"] = p["targetPort"] is JsonValue v && v.TryGetValue<string>(out var named) ? NamedPort(selected, named)
                    : Objects.Number(p["targetPort"] is JsonValue n && n.TryGetValue<long>(out _) ? n : p["port"], 0),
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

    /// <summary>The service with its ClusterIP and node ports filled in, or null when it has them all.</summary>
    private static JsonObject? Allocate(JsonObject service, HashSet<string> taken, HashSet<int> takenPorts)
    {
        var updated = service.DeepClone().AsObject();
        var spec = updated["spec"] as JsonObject ?? [];
        updated["spec"] = spec;
        var changed = false;
        if ((string?)spec["clusterIP"] is null or "")
        {
            var ip = LoopbackAddresses.ClusterIp(Objects.Uid(service), taken);
            spec["clusterIP"] = ip;
            spec["clusterIPs"] = new JsonArray(ip);
            spec["type"] ??= "ClusterIP";
            changed = true;
        }

        if ((string?)spec["type"] is "NodePort" or "LoadBalancer")
        {
            var index = 0;
            foreach (var port in spec["ports"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if (Objects.Number(port["nodePort"], 0) == 0)
                {
                    port["nodePort"] = LoopbackAddresses.NodePort(Objects.Uid(service), index, takenPorts);
                    changed = true;
                }

                index++;
            }
        }

        return changed ? updated : null;
    }

    /// <summary>A named targetPort: the containerPort of that name in the selected pods (as the endpoints controller resolves it per pod), 0 when none has it.</summary>
    private static long NamedPort(IEnumerable<JsonObject> pods, string name) =>
        pods.SelectMany(p => p["spec"]?["containers"]?.AsArray().OfType<JsonObject>() ?? [])
            .SelectMany(c => c["ports"]?.AsArray().OfType<JsonObject>() ?? [])
            .Where(port => (string?)port["name"] == name)
            .Select(port => Objects.Number(port["containerPort"], 0))
            .FirstOrDefault();
}
