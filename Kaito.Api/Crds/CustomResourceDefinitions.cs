using k8s;
using k8s.Models;
using Kaito.Api.NodeClaims;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Api.Crds;

/// <summary>
/// The CRDs generated from the C# types: Workspace (v1alpha1 served, v1beta1 served and stored, one schema), NodeClaim
/// (karpenter.sh/v1) and KaitoNodeClass. <c>deploy/crds/</c> holds their YAML; a test fails when the two drift.
/// </summary>
public static class CustomResourceDefinitions
{
    /// <summary>Every CRD with the file name it is written to.</summary>
    public static IReadOnlyList<(string FileName, V1CustomResourceDefinition Definition)> All(XmlDocumentation docs)
    {
        ArgumentNullException.ThrowIfNull(docs);
        return
        [
            ("kaito.sh_workspaces.yaml", Workspace(docs)),
            ("karpenter.sh_nodeclaims.yaml", NodeClaim(docs)),
            ("kaito.sh_kaitonodeclasses.yaml", KaitoNodeClass(docs)),
        ];
    }

    /// <summary>The YAML of a CRD as written to <c>deploy/crds</c>.</summary>
    public static string ToYaml(V1CustomResourceDefinition definition) =>
        "# Generated from the C# types in Kaito.Api by CustomResourceDefinitions; do not edit.\n" + KubernetesYaml.Serialize(definition);

    /// <summary>The Workspace CRD.</summary>
    public static V1CustomResourceDefinition Workspace(XmlDocumentation docs)
    {
        // KAITO's columns (api/v1beta1/workspace_types.go; v1alpha1 has no TargetNodeCount or State) with the brief's
        // WorkspaceReady beside WorkspaceSucceeded, so `kubectl get workspace` shows what both document.
        V1CustomResourceColumnDefinition[] alpha =
        [
            Column("Instance", ".resource.instanceType"),
            Condition("ResourceReady", ConditionTypes.ResourceReady),
            Condition("InferenceReady", ConditionTypes.InferenceReady),
            Condition("JobStarted", ConditionTypes.JobStarted),
            Condition("WorkspaceSucceeded", ConditionTypes.WorkspaceSucceeded),
            Condition("WorkspaceReady", ConditionTypes.WorkspaceReady),
            Column("Age", ".metadata.creationTimestamp", "date"),
        ];
        V1CustomResourceColumnDefinition[] beta =
        [
            .. alpha[..^1],
            Column("TargetNodeCount", ".status.targetNodeCount", "integer"),
            Column("State", ".status.state"),
            alpha[^1],
        ];

        return Definition(KaitoGroup.Name, Workspaces.Workspace.KindName, Workspaces.Workspace.Plural, "Namespaced",
            shortNames: ["wk", "wks"], categories: ["workspace"],
            Version(docs, typeof(Workspace), KaitoGroup.V1Alpha1, storage: false, alpha),
            Version(docs, typeof(Workspace), KaitoGroup.V1Beta1, storage: true, beta));
    }

    /// <summary>The NodeClaim CRD (cluster scoped, as Karpenter's).</summary>
    public static V1CustomResourceDefinition NodeClaim(XmlDocumentation docs) =>
        Definition(KaitoGroup.Karpenter, NodeClaims.NodeClaim.KindName, NodeClaims.NodeClaim.Plural, "Cluster",
            shortNames: [], categories: ["karpenter"],
            Version(docs, typeof(NodeClaim), KaitoGroup.KarpenterV1, storage: true,
            [
                Column("Type", ".metadata.labels.node\\.kubernetes\\.io/instance-type"),
                Column("Node", ".status.nodeName"),
                Condition("Ready", ConditionTypes.Ready),
                Column("Age", ".metadata.creationTimestamp", "date"),
                Column("ID", ".status.providerID", priority: 1),
                Column("NodePool", ".metadata.labels.karpenter\\.sh/nodepool", priority: 1),
                Column("NodeClass", ".spec.nodeClassRef.name", priority: 1),
            ]));

    /// <summary>The KaitoNodeClass CRD (cluster scoped).</summary>
    public static V1CustomResourceDefinition KaitoNodeClass(XmlDocumentation docs) =>
        Definition(KaitoGroup.Name, NodeClaims.KaitoNodeClass.KindName, NodeClaims.KaitoNodeClass.Plural, "Cluster",
            shortNames: [], categories: ["kaito"],
            Version(docs, typeof(KaitoNodeClass), KaitoGroup.V1Alpha1, storage: true, columns: null));

    /// <summary>One served version with the status subresource, the type's schema and its printer columns.</summary>
    private static V1CustomResourceDefinitionVersion Version(XmlDocumentation docs, Type type, string name, bool storage,
        IList<V1CustomResourceColumnDefinition>? columns) => new()
    {
        Name = name,
        Served = true,
        Storage = storage,
        Subresources = new V1CustomResourceSubresources { Status = new object() },
        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = new SchemaBuilder(docs, name).ForResource(type) },
        AdditionalPrinterColumns = columns,
    };

    private static V1CustomResourceDefinition Definition(
        string group, string kind, string plural, string scope, IList<string> shortNames, IList<string> categories,
        params V1CustomResourceDefinitionVersion[] versions) => new()
    {
        ApiVersion = "apiextensions.k8s.io/v1",
        Kind = "CustomResourceDefinition",
        Metadata = new V1ObjectMeta { Name = $"{plural}.{group}" },
        Spec = new V1CustomResourceDefinitionSpec
        {
            Group = group,
            Scope = scope,
            Names = new V1CustomResourceDefinitionNames
            {
                Kind = kind,
                ListKind = kind + "List",
                Plural = plural,
                Singular = kind.ToLowerInvariant(),
                ShortNames = shortNames.Count > 0 ? shortNames : null,
                Categories = categories,
            },
            Versions = versions,
        },
    };

    private static V1CustomResourceColumnDefinition Column(string name, string path, string type = "string", int? priority = null) =>
        new() { Name = name, JsonPath = path, Type = type, Priority = priority };

    private static V1CustomResourceColumnDefinition Condition(string name, string type, int? priority = null) =>
        Column(name, $".status.conditions[?(@.type==\"{type}\")].status", priority: priority);
}
