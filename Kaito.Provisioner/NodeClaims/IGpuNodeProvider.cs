using k8s.Models;
using Kaito.Api.NodeClaims;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// Turns one NodeClaim into one node and back. Contract: <see cref="LaunchAsync"/> is idempotent (called again for a
/// claim it already launched, it reports the same node); it returns the node's name and provider ID, or throws
/// <see cref="LaunchFailedException"/> with the cloud's reason and message; <see cref="DeleteAsync"/> removes the
/// capacity and the Node, and succeeds when they are already gone.
/// </summary>
public interface IGpuNodeProvider
{
    Task<LaunchedNode> LaunchAsync(NodeClaim claim, CancellationToken cancellationToken);

    Task DeleteAsync(NodeClaim claim, CancellationToken cancellationToken);
}

/// <summary>A launched node: its name and provider ID, and the Node once it has registered (null while booting).</summary>
public sealed record LaunchedNode(string NodeName, string ProviderId, V1Node? Node);

/// <summary>The cloud refused the capacity: the reason and message land on the claim's Launched=False condition.</summary>
public sealed class LaunchFailedException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}
