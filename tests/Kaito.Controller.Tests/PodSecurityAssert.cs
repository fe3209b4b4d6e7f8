using k8s.Models;

namespace Kaito.Controller.Tests;

/// <summary>What every pod the controller creates must carry: the restricted Pod Security Standard, and no API token.</summary>
internal static class PodSecurityAssert
{
    public static void Hardened(V1PodSpec pod)
    {
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.NotEqual(0, pod.SecurityContext.RunAsUser);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.All((pod.InitContainers ?? []).Concat(pod.Containers), container =>
        {
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        });
    }
}
