using k8s.Models;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// The one way conditions are set: <c>lastTransitionTime</c> moves only when the status changes, and every condition
/// carries the generation it was computed for.
/// </summary>
public static class Conditions
{
    public static void Set(IList<V1Condition> conditions, string type, bool status, string reason, string message, long generation, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        var value = status ? "True" : "False";
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            conditions.Add(new V1Condition { Type = type, Status = value, Reason = reason, Message = message, LastTransitionTime = now, ObservedGeneration = generation });
            return;
        }

        if (existing.Status != value)
        {
            existing.LastTransitionTime = now;
        }

        existing.Status = value;
        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = generation;
    }

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.Any(c => c.Type == type && c.Status == "True") == true;
}
