using k8s;
using Kaito.Api.NodeClaims;
using Kaito.Testing;

namespace Kaito.Provisioner.Tests;

/// <summary>Reading NodeClaims through kubectl, as the provider tests wait on them.</summary>
internal static class NodeClaimProbes
{
    public static async Task<NodeClaim?> GetAsync(Kubectl kubectl, string name)
    {
        var result = await kubectl.RunAsync("get", "nodeclaim", name, "-o", "json");
        return result.ExitCode == 0 ? KubernetesJson.Deserialize<NodeClaim>(result.Output) : null;
    }

    public static string? Condition(NodeClaim claim, string type) => claim.Status?.Conditions?.FirstOrDefault(c => c.Type == type)?.Status;
}
