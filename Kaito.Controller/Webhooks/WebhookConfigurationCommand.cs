using k8s;

namespace Kaito.Controller.Webhooks;

/// <summary>
/// <c>print-webhook-configuration [--webhook-cert-dir d] [--webhook-service ns/name] [--webhook-port p]</c>: prints the
/// ValidatingWebhookConfiguration for a deployment whose serving certificate is in the given folder (the Secret the
/// controller mounts), for <c>kubectl apply -f -</c>.
/// </summary>
public static class WebhookConfigurationCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var configuration = new ConfigurationBuilder().AddCommandLine(args, WorkspaceControllerExtensions.SwitchMappings.ToDictionary()).Build();
        var options = new WebhookOptions();
        configuration.GetSection(WebhookOptions.SectionName).Bind(options);
        var authority = Path.Combine(options.CertificateDirectory, "ca.crt");
        var certificate = Path.Combine(options.CertificateDirectory, "tls.crt");
        var bundle = File.Exists(authority) ? authority : File.Exists(certificate) ? certificate : null;
        if (bundle is null)
        {
            error.WriteLine($"print-webhook-configuration: no ca.crt or tls.crt in {options.CertificateDirectory} (--webhook-cert-dir): " +
                "the API server must trust the certificate the webhook serves");
            return 2;
        }

        output.Write(KubernetesYaml.Serialize(WebhookServer.Configuration(options, File.ReadAllText(bundle), options.Port)));
        return 0;
    }
}
