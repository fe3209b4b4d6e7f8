namespace Kaito.Deploy;

/// <summary>One RBAC rule; <paramref name="Condition"/> names a boolean value that must be on for the rule to be granted.</summary>
public sealed record RbacRule(IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> Verbs,
    IReadOnlyList<string>? ResourceNames = null, string? Reason = null, string? Condition = null);

/// <summary>What one component is granted: cluster-wide, and in the release namespace only.</summary>
public sealed record ComponentRbac(string Name, IReadOnlyList<RbacRule> ClusterRules, IReadOnlyList<RbacRule> NamespaceRules);

/// <summary>
/// The permissions of the control plane, each rule for something the component calls — no Secret but the webhook's own
/// certificate, by name. Leader election's Lease and that certificate are in the release namespace. The RBAC test runs
/// both components through a workspace's life against LocalCluster with exactly these rules: nothing is refused, and
/// each rule is the only one that allowed some request.
/// </summary>
public static class ControlPlaneRbac
{
    private static readonly string[] s_read = ["get", "list", "watch"];
    private static readonly string[] s_manage = ["get", "list", "watch", "create", "update", "patch", "delete"];

    public static ComponentRbac Controller { get; } = new(KaitoChart.ControllerName,
    [
        new(["kaito.sh"], ["workspaces"], [.. s_read, "update", "patch"], Reason: "the reconciled workspaces (finalizer, annotations)"),
        new(["kaito.sh"], ["workspaces/status"], ["get", "update", "patch"]),
        new(["kaito.sh"], ["workspaces/finalizers"], ["update"], Reason: "owner references that block the workspace's deletion (OwnerReferencesPermissionEnforcement)"),
        new(["karpenter.sh"], ["nodeclaims"], ["get", "list", "watch", "create", "patch", "delete"], Reason: "GPU nodes asked of the provisioner"),
        new([""], ["nodes"], [.. s_read, "patch"], Reason: "the workspace's nodes (labels)"),
        new([""], ["pods"], s_read, Reason: "the workloads' pods, for status"),
        new([""], ["services", "configmaps"], s_manage, Reason: "inference Services and ConfigMaps it owns; tuning templates"),
        new([""], ["events"], ["create", "patch"]),
        new(["apps"], ["statefulsets"], s_manage, Reason: "the inference workloads"),
        new(["apps"], ["controllerrevisions"], ["list", "create", "patch", "delete"], Reason: "each workspace's revision history, as KAITO keeps it"),
        new(["batch"], ["jobs"], s_manage, Reason: "the tuning jobs"),
        new(["networking.k8s.io"], ["networkpolicies"], ["list", "watch", "create"], Reason: "each inference workspace's NetworkPolicy", Condition: "networkPolicies.enabled"),
        new(["apiextensions.k8s.io"], ["customresourcedefinitions"], s_read, Reason: "Kaito's CRDs are checked at start"),
        new(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"], ["create"], Reason: "its webhook's configuration, registered at start"),
        new(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"], ["get", "update"], ResourceNames: [KaitoChart.WebhookConfiguration]),
    ],
    [
        new(["coordination.k8s.io"], ["leases"], ["create"], Reason: "leader election"),
        new(["coordination.k8s.io"], ["leases"], ["get", "update"], ResourceNames: ["{{ .Values.controller.leaseName }}"]),
        new([""], ["secrets"], ["get", "update", "patch"], ResourceNames: [KaitoChart.WebhookCertificateSecret], Reason: "the webhook's serving certificate, shared by the replicas"),
    ]);

    public static ComponentRbac Provisioner { get; } = new(KaitoChart.ProvisionerName,
    [
        new(["karpenter.sh"], ["nodeclaims"], [.. s_read, "update", "patch"], Reason: "the claims it provisions (finalizer, labels)"),
        new(["karpenter.sh"], ["nodeclaims/status"], ["get", "update", "patch"]),
        new([""], ["nodes"], [.. s_read, "patch", "delete"], Reason: "the claimed nodes: registered, labelled, removed with their claim"),
        new([""], ["nodes"], ["create"], Reason: "LocalCluster only: the local provider's simulated nodes", Condition: "provisioner.createsNodes"),
    ],
    [
        new(["coordination.k8s.io"], ["leases"], ["create"], Reason: "leader election"),
        new(["coordination.k8s.io"], ["leases"], ["get", "update"], ResourceNames: ["{{ .Values.provisioner.leaseName }}"]),
    ]);

    public static IReadOnlyList<ComponentRbac> Components { get; } = [Controller, Provisioner];
}
