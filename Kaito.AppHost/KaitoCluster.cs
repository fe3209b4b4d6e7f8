namespace Kaito.AppHost;

/// <summary>
/// The cluster the control plane talks to: either the embedded LocalCluster resource, whose kubeconfig it writes at
/// <see cref="Kubeconfig"/>, or an external cluster named by a kubeconfig and an optional context.
/// </summary>
public sealed record KaitoCluster(IResourceBuilder<ProjectResource>? Local, string Kubeconfig, string? Context)
{
    public bool IsLocal => Local is not null;
}
