using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Kaito.Api.Schema;

namespace Kaito.Api.Workspaces;

/// <summary>
/// Workspace is the Schema for the workspaces API: the GPU resources a model needs and either an inference or a
/// tuning specification. As in KAITO, the fields live at the top level of the object; there is no spec.
/// </summary>
[KubernetesEntity(Group = KaitoGroup.Name, ApiVersion = KaitoGroup.V1Beta1, Kind = KindName, PluralName = Plural)]
public sealed class Workspace : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The kind.</summary>
    public const string KindName = "Workspace";

    /// <summary>The resource's plural name.</summary>
    public const string Plural = "workspaces";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KaitoGroup.Name}/{KaitoGroup.V1Beta1}";

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    /// <summary>Standard object metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The GPU resources the workspace needs: instance type, node selector, count.</summary>
    [JsonPropertyName("resource")]
    public ResourceSpec? Resource { get; set; }

    /// <summary>What to serve. Exactly one of inference and tuning is set.</summary>
    [JsonPropertyName("inference")]
    public InferenceSpec? Inference { get; set; }

    /// <summary>What to fine-tune. Exactly one of inference and tuning is set.</summary>
    [JsonPropertyName("tuning")]
    public TuningSpec? Tuning { get; set; }

    /// <summary>The observed state, written by the controller.</summary>
    [JsonPropertyName("status")]
    public WorkspaceStatus? Status { get; set; }
}
