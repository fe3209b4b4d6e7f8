using k8s;
using Kaito.Api;
using Kaito.Operator.Kubernetes;

namespace Kaito.Provisioner.NodeClaims;

/// <summary>
/// Keeps the local provider off real clusters: it writes simulated GPU Node objects, which on kind or AKS would stand in
/// for machines that do not exist and draw real workloads onto them. At start the API server's <c>/version</c> must be
/// LocalCluster's; otherwise the provisioner stops with exit code 2 and says which provider to use — and until the
/// answer is in, and whatever it is, <see cref="LocalNodeProvider"/> asks again before it writes a node.
/// </summary>
public sealed partial class LocalClusterGuard(IKubernetes client, IHostApplicationLifetime lifetime, ILogger<LocalClusterGuard> logger) : BackgroundService
{
    public const int RefusedExitCode = 2;

    private volatile string? _problem;
    private volatile bool _checked;

    /// <summary>Why the local provider must not run against this API server, or null when it is LocalCluster.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        if (!_checked)
        {
            Record(await client.Version.GetCodeAsync(cancellationToken));
        }

        return _problem;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var version = await client.WaitForApiServerAsync(logger, stoppingToken);
        if (Record(version) is { } problem)
        {
            LogRefused(logger, problem);
            Environment.ExitCode = RefusedExitCode;
            lifetime.StopApplication();
        }
    }

    private string? Record(k8s.Models.VersionInfo version)
    {
        _problem = version.GitCommit == LocalClusterIdentity.GitCommit
            ? null
            : $"the local provider creates simulated GPU nodes and runs only against LocalCluster, but {client.BaseUri} is a Kubernetes API server " +
              $"{version.GitVersion} (commit {version.GitCommit}): use --provider existing for GPU nodes already in the cluster (kind, labelled nodes) " +
              "or --provider azure for AKS";
        _checked = true;
        return _problem;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing to start: {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
