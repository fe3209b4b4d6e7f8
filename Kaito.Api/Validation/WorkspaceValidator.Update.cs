using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Api.Validation;

public static partial class WorkspaceValidator
{
    private const string Immutable = "field is immutable";

    private static void ValidateUpdate(Workspace workspace, Workspace old, ValidationContext context, ValidationResult result)
    {
        if ((old.Inference is null) != (workspace.Inference is null))
        {
            result.Error("inference", "Inference field cannot be toggled once set");
        }

        if ((old.Tuning is null) != (workspace.Tuning is null))
        {
            result.Error("tuning", "Tuning field cannot be toggled once set");
        }

        var resource = workspace.Resource;
        var oldResource = old.Resource;
        if ((oldResource?.Count ?? 1) != (resource?.Count ?? 1))
        {
            result.Error("resource.count", Immutable);
        }

        if (Json(oldResource?.Partition) != Json(resource?.Partition))
        {
            result.Error("resource.partition", Immutable);
        }

        if (Json(oldResource?.LabelSelector) != Json(resource?.LabelSelector))
        {
            result.Error("resource.labelSelector", Immutable);
        }

        // Bring-your-own clusters may clear an instance type a v1alpha1 default put there.
        var oldType = oldResource?.InstanceType;
        var newType = resource?.InstanceType;
        if (!string.IsNullOrEmpty(oldType) && oldType != newType && !(!context.NodeAutoProvisioning && string.IsNullOrEmpty(newType)))
        {
            result.Error("resource.instanceType", Immutable);
        }

        if (old.Inference is { } oldInference && workspace.Inference is { } inference)
        {
            if (Json(oldInference.Preset) != Json(inference.Preset))
            {
                result.Error("inference.preset", Immutable);
            }

            if ((oldInference.Template is null) != (inference.Template is null))
            {
                result.Error("inference.template", "template cannot be set or unset after creation");
            }
        }

        if (old.Tuning is { } oldTuning && workspace.Tuning is { } tuning)
        {
            if (Json(oldTuning.Preset) != Json(tuning.Preset))
            {
                result.Error("tuning.preset", Immutable);
            }

            if (!string.Equals(oldTuning.Method, tuning.Method, StringComparison.OrdinalIgnoreCase))
            {
                result.Error("tuning.method", Immutable);
            }

            if (oldTuning.Input?.Name != tuning.Input?.Name)
            {
                result.Error("tuning.input.name", Immutable);
            }
        }

        string? oldStreaming = null;
        string? newStreaming = null;
        old.Metadata.Annotations?.TryGetValue(Annotations.ModelStreaming, out oldStreaming);
        workspace.Metadata.Annotations?.TryGetValue(Annotations.ModelStreaming, out newStreaming);
        if (oldStreaming != newStreaming)
        {
            result.Error($"metadata.annotations[{Annotations.ModelStreaming}]", Immutable);
        }
    }
}
