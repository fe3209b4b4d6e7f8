namespace Kaito.LocalCluster.Resources;

/// <summary>The Kubernetes resources LocalCluster serves out of the box: what KAITO, kubectl and the operator use.</summary>
public static class BuiltInTypes
{
    public static IReadOnlyList<ResourceType> All { get; } =
    [
        Core("Namespace", "namespaces", namespaced: false, status: true, shortNames: ["ns"]),
        Core("Node", "nodes", namespaced: false, status: true, shortNames: ["no"]),
        Core("Pod", "pods", status: true, shortNames: ["po"], categories: ["all"], extra: ["log", "binding"]),
        Core("Service", "services", status: true, shortNames: ["svc"], categories: ["all"]),
        Core("Endpoints", "endpoints", shortNames: ["ep"], singular: "endpoints"),
        Core("ConfigMap", "configmaps", shortNames: ["cm"]),
        Core("Secret", "secrets"),
        Core("ServiceAccount", "serviceaccounts", shortNames: ["sa"], extra: ["token"]),
        Core("Event", "events", shortNames: ["ev"]),
        Core("PersistentVolumeClaim", "persistentvolumeclaims", status: true, shortNames: ["pvc"]),
        Typed("apps", "v1", "Deployment", "deployments", status: true, shortNames: ["deploy"], categories: ["all"]),
        Typed("apps", "v1", "StatefulSet", "statefulsets", status: true, shortNames: ["sts"], categories: ["all"]),
        Typed("apps", "v1", "ReplicaSet", "replicasets", status: true, shortNames: ["rs"], categories: ["all"]),
        Typed("apps", "v1", "ControllerRevision", "controllerrevisions"),
        Typed("batch", "v1", "Job", "jobs", status: true, categories: ["all"]),
        Typed("coordination.k8s.io", "v1", "Lease", "leases"),
        Typed("events.k8s.io", "v1", "Event", "events", shortNames: ["ev"]),
        Typed("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
            namespaced: false, status: true, shortNames: ["crd", "crds"], categories: ["api-extensions"]),
        Typed("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
            namespaced: false, categories: ["api-extensions"]),
        // What a deployment of Kaito applies (deploy/kubernetes): its RBAC, disruption budget and network policies.
        Typed("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        Typed("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        Typed("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced: false),
        Typed("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced: false),
        Typed("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", status: true, shortNames: ["pdb"]),
        Typed("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", shortNames: ["netpol"]),
    ];

    private static ResourceType Core(string kind, string plural, bool namespaced = true, bool status = false,
        string[]? shortNames = null, string[]? categories = null, string[]? extra = null, string? singular = null) =>
        Typed("", "v1", kind, plural, namespaced, status, shortNames, categories, extra, singular);

    private static ResourceType Typed(string group, string version, string kind, string plural, bool namespaced = true,
        bool status = false, string[]? shortNames = null, string[]? categories = null, string[]? extra = null, string? singular = null) => new()
    {
        Group = group,
        Versions = [version],
        Kind = kind,
        Plural = plural,
        Singular = singular ?? kind.ToLowerInvariant(),
        Namespaced = namespaced,
        HasStatus = status,
        ShortNames = shortNames ?? [],
        Categories = categories ?? [],
        ExtraSubresources = extra ?? [],
    };
}
