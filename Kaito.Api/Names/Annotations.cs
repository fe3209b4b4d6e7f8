namespace Kaito.Api.Names;

/// <summary>Annotation keys on workspaces, NodeClaims and workloads.</summary>
public static class Annotations
{
    /// <summary>The workspace's revision number, set by the controller (ControllerRevision).</summary>
    public const string Revision = "workspace.kaito.io/revision";

    /// <summary>The sha256 of the workspace's <c>resource</c>, <c>inference</c> and <c>tuning</c>, set by the controller.</summary>
    public const string Hash = "workspace.kaito.io/hash";

    /// <summary>The inference runtime: <c>vllm</c> (default) or <c>transformers</c>.</summary>
    public const string Runtime = "kaito.sh/runtime";

    /// <summary><c>"True"</c> makes the main Service a LoadBalancer (testing only).</summary>
    public const string EnableLoadBalancer = "kaito.sh/enablelb";

    /// <summary>
    /// With <see cref="EnableLoadBalancer"/>: <c>internal</c> (default: a load balancer on the cluster's virtual network)
    /// or <c>public</c> (an internet-facing one; set API keys too). Ours; KAITO's load balancer is always public.
    /// </summary>
    public const string LoadBalancerScope = "kaito.sh/load-balancer-scope";

    /// <summary>
    /// A Secret in the workspace's namespace whose key <c>api-keys</c> holds API keys, one per line: the inference server
    /// then requires one as <c>Authorization: Bearer</c>. Ours; KAITO's endpoints have no authentication.
    /// </summary>
    public const string ApiKeysSecret = "kaito.sh/api-keys-secret";

    /// <summary>A <c>kubernetes.io/tls</c> Secret in the workspace's namespace: the inference server then speaks HTTPS only. Ours.</summary>
    public const string TlsSecret = "kaito.sh/tls-secret";

    /// <summary>Present: GPU-memory validation failures become warnings.</summary>
    public const string BypassResourceChecks = "kaito.sh/bypass-resource-checks";

    /// <summary><c>ubuntu</c> or <c>azurelinux</c>; copied to the NodeClaim and on to the agent pool's OS SKU.</summary>
    public const string NodeImageFamily = "kaito.sh/node-image-family";

    /// <summary>Karpenter provisioner mode: which node class to use.</summary>
    public const string NodeClassName = "kaito.sh/node-class-name";

    /// <summary><c>"true"</c> disables the post-load benchmark.</summary>
    public const string DisableBenchmark = "kaito.sh/disable-benchmark";

    /// <summary><c>balanced</c> (default), <c>interactivity</c> or <c>throughput</c>.</summary>
    public const string PerformanceMode = "kaito.sh/performance-mode";

    /// <summary><c>"true"</c> or <c>"false"</c>: load weights baked on the node instead of downloading them.</summary>
    public const string UseLocalWeights = "kaito.sh/use-local-weights";

    /// <summary>
    /// A PersistentVolumeClaim in the workspace's namespace holding the model's Hugging Face files, mounted read-only as
    /// the weights instead of downloading them — for air-gapped clusters (ours; upstream KAITO has hostPath weights only).
    /// </summary>
    public const string ModelWeightsClaim = "kaito.sh/model-weights-claim";

    /// <summary>
    /// On a tuning workspace, <c>"false"</c> keeps KAITO's behaviour: the finished workspace serves nothing and holds no
    /// GPU. Otherwise (ours) a tuning workspace whose adapter is kept (an output image or a persistent volume) serves the
    /// base model with that adapter at its own Service once the job has succeeded.
    /// </summary>
    public const string ServeTuningOutput = "kaito.sh/serve-tuning-output";

    /// <summary>Model streaming (immutable).</summary>
    public const string ModelStreaming = "kaito.sh/model-streaming";

    /// <summary>Karpenter must not disrupt the node of a NodeClaim carrying this set to <c>"true"</c>.</summary>
    public const string DoNotDisrupt = "karpenter.sh/do-not-disrupt";

    /// <summary>
    /// W3C <c>traceparent</c> of the reconcile that created an object, so the provisioner's spans join the
    /// workspace's trace (ours; upstream KAITO has no equivalent).
    /// </summary>
    public const string TraceParent = "kaito.sh/traceparent";
}
