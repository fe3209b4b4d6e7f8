using k8s.Models;
using Kaito.Api.NodeClaims;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// Turns one NodeClaim into one node and back. Contract: <see cref="LaunchAsync"/> is idempotent (called again for a
/// claim it already launched, it reports the same node); it returns the node's name and provider ID once known, or
/// throws <see cref="LaunchFailedException"/> with the cloud's reason and message; <see cref="DeleteAsync"/> starts
/// removing the capacity and the Node and returns true once both are gone (false: call again later).
/// </summary>
public interface IGpuNodeProvider
{
    /// <summary>How soon a claim in progress (capacity being made, a node booting, nothing free yet) is looked at again.</summary>
    TimeSpan PollInterval { get; }

    Task<LaunchedNode> LaunchAsync(NodeClaim claim, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(NodeClaim claim, CancellationToken cancellationToken);
}

/// <summary>
/// A launched node: its name and provider ID once the provider knows them (null while the cloud is still creating it),
/// and the Node once it has registered.
/// </summary>
public sealed record LaunchedNode(string? NodeName, string? ProviderId, V1Node? Node)
{
    /// <summary>The capacity is still being created.</summary>
    public static LaunchedNode Pending { get; } = new(null, null, null);

    /// <summary>Set when nothing could be launched yet but may be later (Launched=False with this reason, retried).</summary>
    public string? WaitingReason { get; init; }

    public string? WaitingMessage { get; init; }

    /// <summary>Nothing launched yet, for a reason that may pass (no free node); the claim is retried.</summary>
    public static LaunchedNode Waiting(string reason, string message) => new(null, null, null) { WaitingReason = reason, WaitingMessage = message };
}

/// <summary>The cloud refused the capacity: the reason and message land on the claim's Launched=False condition.</summary>
public sealed class LaunchFailedException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}
