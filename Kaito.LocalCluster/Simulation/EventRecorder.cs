using System.Text.Json.Nodes;

namespace Kaito.LocalCluster.Simulation;

/// <summary>Records core/v1 Events about objects, counting repeats of the same reason and message as one event.</summary>
internal static class EventRecorder
{
    public static void Record(SimulationContext context, JsonObject involved, string type, string reason, string message)
    {
        var ns = Objects.Namespace(involved);
        var uid = Objects.Uid(involved);
        var existing = context.List(Kinds.Event).FirstOrDefault(e =>
            (string?)e["involvedObject"]?["uid"] == uid && (string?)e["reason"] == reason && (string?)e["message"] == message);
        if (existing is not null)
        {
            var repeated = existing.DeepClone().AsObject();
            repeated["count"] = Objects.Number(existing["count"], 1) + 1;
            repeated["lastTimestamp"] = context.Timestamp;
            context.Update(Kinds.Event, existing, repeated, status: false);
            return;
        }

        context.Create(Kinds.Event, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{Objects.Name(involved)}.{Guid.NewGuid():N}"[..Math.Min(63, Objects.Name(involved).Length + 17)],
                ["namespace"] = ns.Length == 0 ? "default" : ns,
            },
            ["involvedObject"] = new JsonObject
            {
                ["apiVersion"] = (string?)involved["apiVersion"],
                ["kind"] = (string?)involved["kind"],
                ["name"] = Objects.Name(involved),
                ["namespace"] = ns.Length == 0 ? null : ns,
                ["uid"] = uid,
                ["resourceVersion"] = (string?)involved["metadata"]?["resourceVersion"],
            },
            ["type"] = type,
            ["reason"] = reason,
            ["message"] = message,
            ["count"] = 1,
            ["firstTimestamp"] = context.Timestamp,
            ["lastTimestamp"] = context.Timestamp,
            ["source"] = new JsonObject { ["component"] = "kaito-local-cluster" },
            ["reportingComponent"] = "kaito-local-cluster",
        });
    }
}
