using k8s.Models;

namespace Kaito.Operator.Runtime;

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

    /// <summary>
    /// Copies of the conditions to change. Objects from an informer's cache are shared: changing them in place would
    /// corrupt the cache and hide the change from the "did anything change?" comparison before a write.
    /// </summary>
    public static List<V1Condition> Copy(IEnumerable<V1Condition>? conditions) =>
        conditions?.Select(c => new V1Condition
        {
            Type = c.Type,
            Status = c.Status,
            Reason = c.Reason,
            Message = c.Message,
            LastTransitionTime = c.LastTransitionTime,
            ObservedGeneration = c.ObservedGeneration,
        }).ToList() ?? [];

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.Any(c => c.Type == type && c.Status == "True") == true;
}
