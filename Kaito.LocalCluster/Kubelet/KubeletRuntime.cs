using Kaito.LocalCluster.Storage;
using Microsoft.Extensions.Options;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>What every pod worker shares: the store it reports to, the images it can run, its settings and its folders.</summary>
internal sealed class KubeletRuntime(ClusterStore store, ContainerImages images, IOptions<KubeletOptions> options, TimeProvider clock, ILoggerFactory loggers, string rootDirectory,
    ServiceAccountTokens? tokens = null, KubeconfigWriter? apiServer = null, string? apiAuthorityPem = null)
{
    /// <summary>Issues the pods' service account tokens (null: pods get none).</summary>
    public ServiceAccountTokens? Tokens { get; } = tokens;

    /// <summary>The API server's https address as pods reach it (their KUBERNETES_SERVICE_HOST/PORT), once it listens.</summary>
    public Uri? ApiServer => apiServer?.Server;

    /// <summary>The CA that signs the API server's certificate (the pods' <c>ca.crt</c>).</summary>
    public string? ApiAuthorityPem { get; } = apiAuthorityPem;

    public ClusterStore Store { get; } = store;

    public ContainerImages Images { get; } = images;

    public KubeletOptions Options { get; } = options.Value;

    public TimeProvider Clock { get; } = clock;

    public ILoggerFactory Loggers { get; } = loggers;

    public string RootDirectory { get; } = rootDirectory;

    public string PodDirectory(string uid) => Path.Combine(RootDirectory, "pods", uid);

    public string ClaimsDirectory => Path.Combine(RootDirectory, "claims");

    /// <summary>The node's pulled images (<see cref="ImageStore"/>), unpacked under <c>images/</c>.</summary>
    public ImageStore ImageStore { get; } = new(Path.Combine(rootDirectory, "images"), loggers.CreateLogger<ImageStore>(), options.Value.MaxImageBytes, options.Value.MaxImageEntries);

    /// <summary>The nodes' own file systems, for hostPath volumes: <c>nodes/&lt;node&gt;/&lt;path&gt;</c>, kept across pods.</summary>
    public string NodesDirectory => Path.Combine(RootDirectory, "nodes");

    /// <summary>Whether containers need a user namespace to build their mounts (LocalCluster is not root).</summary>
    public bool Rootless { get; } = !Native.IsRoot;
}
