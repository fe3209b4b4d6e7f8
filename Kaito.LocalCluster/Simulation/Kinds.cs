using Kaito.LocalCluster.Resources;

namespace Kaito.LocalCluster.Simulation;

/// <summary>The built-in resource types the simulated controllers read and write.</summary>
internal static class Kinds
{
    public static readonly ResourceType Node = Find("/nodes");
    public static readonly ResourceType Pod = Find("/pods");
    public static readonly ResourceType Service = Find("/services");
    public static readonly ResourceType Endpoints = Find("/endpoints");
    public static readonly ResourceType Event = Find("/events");
    public static readonly ResourceType PersistentVolumeClaim = Find("/persistentvolumeclaims");
    public static readonly ResourceType ConfigMap = Find("/configmaps");
    public static readonly ResourceType Secret = Find("/secrets");
    public static readonly ResourceType ServiceAccount = Find("/serviceaccounts");
    public static readonly ResourceType StatefulSet = Find("apps/statefulsets");
    public static readonly ResourceType Deployment = Find("apps/deployments");
    public static readonly ResourceType ReplicaSet = Find("apps/replicasets");
    public static readonly ResourceType Job = Find("batch/jobs");

    private static ResourceType Find(string groupResource) => BuiltInTypes.All.Single(t => t.GroupResource == groupResource);
}
