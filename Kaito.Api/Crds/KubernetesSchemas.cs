using k8s.Models;

namespace Kaito.Api.Crds;

/// <summary>The API server's schemas for the Kubernetes types Kaito's resources embed.</summary>
internal static class KubernetesSchemas
{
    public static V1JSONSchemaProps? For(Type type) =>
        type == typeof(V1LabelSelector) ? LabelSelector()
        : type == typeof(V1Condition) ? Condition()
        : type == typeof(V1Taint) ? Taint()
        : type == typeof(ResourceQuantity) ? Quantity()
        : null;

    private static V1JSONSchemaProps String(string description) => new() { Type = "string", Description = description };

    private static V1JSONSchemaProps LabelSelector() => new()
    {
        Type = "object",
        XKubernetesMapType = "atomic",
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["matchLabels"] = new()
            {
                Type = "object",
                AdditionalProperties = new V1JSONSchemaProps { Type = "string" },
                Description = "A map of {key,value} pairs; each is equivalent to a matchExpressions element with operator In and that single value.",
            },
            ["matchExpressions"] = new()
            {
                Type = "array",
                XKubernetesListType = "atomic",
                Description = "A list of label selector requirements. The requirements are ANDed.",
                Items = new V1JSONSchemaProps
                {
                    Type = "object",
                    Required = ["key", "operator"],
                    Properties = new Dictionary<string, V1JSONSchemaProps>
                    {
                        ["key"] = String("The label key that the selector applies to."),
                        ["operator"] = String("A key's relationship to a set of values: In, NotIn, Exists or DoesNotExist."),
                        ["values"] = new()
                        {
                            Type = "array",
                            XKubernetesListType = "atomic",
                            Items = new V1JSONSchemaProps { Type = "string" },
                            Description = "An array of string values; non-empty for In and NotIn, empty for Exists and DoesNotExist.",
                        },
                    },
                },
            },
        },
    };

    private static V1JSONSchemaProps Condition() => new()
    {
        Type = "object",
        Description = "Condition contains details for one aspect of the current state of this API Resource.",
        Required = ["lastTransitionTime", "message", "reason", "status", "type"],
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["type"] = new() { Type = "string", MaxLength = 316, Description = "The type of condition in CamelCase." },
            ["status"] = new() { Type = "string", EnumProperty = ["True", "False", "Unknown"], Description = "The status of the condition: True, False or Unknown." },
            ["observedGeneration"] = new() { Type = "integer", Format = "int64", Minimum = 0, Description = "The .metadata.generation the condition was set for." },
            ["lastTransitionTime"] = new() { Type = "string", Format = "date-time", Description = "The last time the condition changed status." },
            ["reason"] = new() { Type = "string", MaxLength = 1024, MinLength = 1, Pattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", Description = "A programmatic identifier for the reason of the last transition, in CamelCase." },
            ["message"] = new() { Type = "string", MaxLength = 32768, Description = "A human readable message about the transition." },
        },
    };

    private static V1JSONSchemaProps Taint() => new()
    {
        Type = "object",
        Description = "The node this Taint is attached to has the effect on any pod that does not tolerate the Taint.",
        Required = ["effect", "key"],
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["key"] = String("The taint key to be applied to a node."),
            ["value"] = String("The taint value corresponding to the taint key."),
            ["effect"] = new() { Type = "string", EnumProperty = ["NoSchedule", "PreferNoSchedule", "NoExecute"], Description = "The effect of the taint on pods that do not tolerate it." },
            ["timeAdded"] = new() { Type = "string", Format = "date-time", Description = "The time the taint was added (NoExecute taints only)." },
        },
    };

    private static V1JSONSchemaProps Quantity() => new()
    {
        AnyOf = [new V1JSONSchemaProps { Type = "integer" }, new V1JSONSchemaProps { Type = "string" }],
        Pattern = @"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
        XKubernetesIntOrString = true,
    };
}
