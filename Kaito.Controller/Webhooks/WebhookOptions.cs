namespace Kaito.Controller.Webhooks;

/// <summary>The validating admission webhook for workspaces.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhook";

    /// <summary>The path the API server posts AdmissionReviews to.</summary>
    public const string Path = "/validate/workspace.kaito.sh";

    /// <summary>Serve the webhook (<c>--webhook-port</c> turns it on).</summary>
    public bool Enabled { get; set; }

    /// <summary>The HTTPS port (<c>--webhook-port</c>); 0 takes a free one (local use, with <see cref="Register"/>).</summary>
    public int Port { get; set; } = 9443;

    /// <summary>
    /// A folder with <c>tls.crt</c> and <c>tls.key</c> (a mounted Secret, and <c>ca.crt</c> when a CA signed them). When it
    /// does not hold them, a CA and a serving certificate are generated at start.
    /// </summary>
    public string CertificateDirectory { get; set; } = "/tmp/k8s-webhook-server/serving-certs";

    /// <summary>
    /// A Secret (<c>namespace/name</c>, <c>--webhook-cert-secret</c>) that holds the certificate every replica serves:
    /// filled by whichever replica starts first when it is empty, expiring within 30 days or not for this Service, and
    /// read by the others — so the caBundle registered is the one all of them present. The deployment creates it empty,
    /// and the controller may only read and update that one Secret. Takes precedence over <see cref="CertificateDirectory"/>.
    /// </summary>
    public string? CertificateSecret { get; set; }

    /// <summary>Create or update the ValidatingWebhookConfiguration at start (<c>--register-webhook</c>).</summary>
    public bool Register { get; set; }

    /// <summary>The ValidatingWebhookConfiguration's name.</summary>
    public string ConfigurationName { get; set; } = "validation.workspace.kaito.sh";

    /// <summary>
    /// The in-cluster Service in front of the controller (<c>namespace/name</c>); without it the configuration points
    /// at <c>https://&lt;Host&gt;:&lt;port&gt;</c> (local clusters).
    /// </summary>
    public string? Service { get; set; }

    /// <summary>The port of <see cref="Service"/> the API server calls (<c>--webhook-service-port</c>); it forwards to <see cref="Port"/>.</summary>
    public int ServicePort { get; set; } = 443;

    /// <summary>The host the API server reaches the webhook at without a Service, and the serving certificate's name.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>
    /// The address to listen on (<c>--webhook-listen-address</c>). Unset: every address of the pod when a
    /// <see cref="Service"/> fronts it (restrict who reaches it with a NetworkPolicy), else <see cref="Host"/> when it is
    /// an IP address, else loopback — never more than the API server needs.
    /// </summary>
    public string? ListenAddress { get; set; }

    public System.Net.IPAddress EffectiveListenAddress =>
        ListenAddress is { Length: > 0 } configured ? System.Net.IPAddress.Parse(configured)
        // LocalCluster's kubelet runs pods in the host's network, each with its own loopback address (KAITO_POD_IP)
        : Service is { Length: > 0 } && System.Net.IPAddress.TryParse(Environment.GetEnvironmentVariable(Kaito.ServiceDefaults.DefaultPorts.PodIpVariable), out var podIp) ? podIp
        : Service is { Length: > 0 } ? System.Net.IPAddress.IPv6Any
        : System.Net.IPAddress.TryParse(Host, out var host) ? host
        : System.Net.IPAddress.Loopback;
}
