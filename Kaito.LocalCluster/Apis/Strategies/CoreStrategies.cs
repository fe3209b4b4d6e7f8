using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis.Strategies;

/// <summary>Namespaces (pkg/registry/core/namespace): DNS-1123 labels; the built-in ones cannot be deleted.</summary>
internal sealed class NamespaceStrategy : ResourceStrategy
{
    public override bool IsValidName(string name) => Kaito.Api.Validation.KubernetesNames.IsDns1123Label(name);

    public override void ValidateDelete(ObjectKey key)
    {
        if (key.Name is "default" or "kube-system" or "kube-public")
        {
            throw new ApiException(403, "Forbidden", $"namespaces \"{key.Name}\" is forbidden: this namespace may not be deleted");
        }
    }
}

/// <summary>Services (pkg/registry/core/service): DNS-1123 labels, as their names become DNS names.</summary>
internal sealed class ServiceStrategy : ResourceStrategy
{
    public override bool IsValidName(string name) => Kaito.Api.Validation.KubernetesNames.IsDns1123Label(name);
}

/// <summary>
/// Secrets (pkg/registry/core/secret): the type is Opaque unless given, and the write-only <c>stringData</c> is merged
/// into <c>data</c> (base64) and dropped — defaulting clients rely on.
/// </summary>
internal sealed class SecretStrategy : ResourceStrategy
{
    public override void PrepareForWrite(JsonObject item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if ((string?)item["type"] is null or "")
        {
            item["type"] = "Opaque";
        }

        if (item["stringData"] is JsonObject stringData)
        {
            var data = item["data"] as JsonObject ?? [];
            item["data"] = data;
            foreach (var (key, value) in stringData)
            {
                data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes((string?)value ?? ""));
            }

            item.Remove("stringData");
        }
    }
}

/// <summary>
/// Jobs (pkg/registry/batch/job): without <c>manualSelector</c>, the selector is the new Job's
/// <c>batch.kubernetes.io/controller-uid</c> and the pod template carries it with the job-name labels, so
/// <c>kubectl logs job/&lt;name&gt;</c> and friends find exactly this Job's pods.
/// </summary>
internal sealed class JobStrategy : ResourceStrategy
{
    public override Action<JsonObject>? OnCreateAssigned => DefaultSelector;

    private static void DefaultSelector(JsonObject job)
    {
        var spec = job["spec"] as JsonObject ?? [];
        job["spec"] = spec;
        if (spec["manualSelector"]?.GetValue<bool>() == true && spec["selector"] is not null)
        {
            return;
        }

        var uid = (string)job["metadata"]!["uid"]!;
        var name = (string?)job["metadata"]!["name"] ?? "";
        spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = uid } };
        var template = spec["template"] as JsonObject ?? [];
        spec["template"] = template;
        var metadata = template["metadata"] as JsonObject ?? [];
        template["metadata"] = metadata;
        var labels = metadata["labels"] as JsonObject ?? [];
        metadata["labels"] = labels;
        labels["batch.kubernetes.io/controller-uid"] = uid;
        labels["controller-uid"] = uid;
        labels["batch.kubernetes.io/job-name"] = name;
        labels["job-name"] = name;
    }
}

/// <summary>
/// Pods (pkg/registry/core/pod/strategy.go, CheckGracefulDeleteStrategy): a pod a kubelet runs is deleted gracefully —
/// it stays, Terminating, with a deletionTimestamp and deletionGracePeriodSeconds (the request's, else its
/// terminationGracePeriodSeconds, else 30), until the kubelet has stopped its containers and removes it. Unbound and
/// finished pods, a grace period of 0 (<c>--force --grace-period=0</c>), and pods that neither the kubelet nor the
/// simulation would finish go at once.
/// </summary>
internal sealed class PodStrategy(Kubelet.LocalKubelet kubelet, Microsoft.Extensions.Options.IOptions<Simulation.SimulationOptions> simulation) : ResourceStrategy
{
    public override long? GracePeriod(JsonObject item, long? requested)
    {
        ArgumentNullException.ThrowIfNull(item);
        if ((string?)item["spec"]?["nodeName"] is null or "" || Simulation.Scheduler.IsFinished(item)
            || (kubelet.Simulated(item) is not null && !simulation.Value.Enabled))
        {
            return null;
        }

        var seconds = requested ?? JsonNumbers.ReadLong(item["spec"]?["terminationGracePeriodSeconds"]) ?? 30;
        return seconds > 0 ? seconds : null;
    }
}
