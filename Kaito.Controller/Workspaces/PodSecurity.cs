using k8s.Models;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// The security context of every pod the controller creates, as the Kubernetes "restricted" Pod Security Standard asks:
/// a fixed non-root user (numeric, so kubelet can check it whatever the image says) whose group owns the volumes, no
/// privilege escalation, no capabilities, the runtime's default seccomp profile, and no service-account token — the
/// workloads never call the Kubernetes API.
/// </summary>
public static class PodSecurity
{
    /// <summary>The user and group workload containers run as (distroless' and chiseled images' <c>nonroot</c>).</summary>
    public const long User = 65532;

    public static V1PodSpec Harden(V1PodSpec pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        pod.AutomountServiceAccountToken = false;
        pod.SecurityContext = new V1PodSecurityContext
        {
            RunAsNonRoot = true,
            RunAsUser = User,
            RunAsGroup = User,
            FsGroup = User,
            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
        };
        foreach (var container in (pod.InitContainers ?? []).Concat(pod.Containers ?? []))
        {
            container.SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                Privileged = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            };
        }

        return pod;
    }
}
