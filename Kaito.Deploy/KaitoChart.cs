using System.Globalization;
using System.Reflection;
using System.Text;
using Kaito.Api.Validation;
using Kaito.ServiceDefaults;

namespace Kaito.Deploy;

/// <summary>
/// Kaito's deployment as a Helm chart (<c>Chart.yaml</c>, <c>values.yaml</c>, <c>templates/</c>, <c>crds/</c>), written
/// from the components' own constants — their ports (<see cref="DefaultPorts"/>), probes (<see cref="HealthEndpoints"/>),
/// settings and the permissions they need (<see cref="ControlPlaneRbac"/>) — so a change there changes the chart, and
/// the drift test on the checked-in copy says so. The same chart rendered with its default values
/// (<see cref="RenderAll"/>) is the one-file install for <c>kubectl apply</c>.
/// </summary>
public static class KaitoChart
{
    public const string Name = "kaito";
    public const string DefaultNamespace = "kaito-system";
    public const string ControllerName = "kaito-controller";
    public const string ProvisionerName = "kaito-provisioner";
    public const string WebhookService = "kaito-webhook";
    public const string WebhookCertificateSecret = "kaito-webhook-cert";
    public const int WebhookPort = 9443;
    public const string WebhookConfiguration = "validation.workspace.kaito.sh";

    /// <summary>The release's version: the assemblies' (Directory.Build.props), without the commit.</summary>
    public static string Version { get; } = ReleaseVersion.Of(typeof(KaitoChart).Assembly);

    /// <summary>The chart's files by relative path (<c>/</c>-separated), in a stable order.</summary>
    public static IReadOnlyList<(string Path, string Content)> Files()
    {
        var files = new List<(string, string)>
        {
            ("Chart.yaml", ChartYaml()),
            ("values.yaml", ValuesYaml()),
            ("templates/serviceaccounts.yaml", ServiceAccounts()),
            ("templates/rbac.yaml", Rbac()),
            ("templates/controller.yaml", Controller()),
            ("templates/provisioner.yaml", Provisioner()),
            ("templates/webhook.yaml", Webhook()),
            ("templates/tuning-templates.yaml", TuningTemplates()),
            ("templates/networkpolicies.yaml", NetworkPolicies()),
            ("templates/nvidia-device-plugin.yaml", NvidiaDevicePlugin()),
        };
        foreach (var (name, content) in Crds())
        {
            files.Add(($"crds/{name}", content));
        }

        return files;
    }

    /// <summary>
    /// Every object of the chart rendered with <paramref name="overrides"/> (<c>--set</c>-style) on its values, for
    /// <c>kubectl apply -f</c>: the namespace first, then the CRDs, then the templates.
    /// </summary>
    public static string RenderAll(IReadOnlyDictionary<string, string>? overrides = null, string releaseNamespace = DefaultNamespace)
    {
        var files = Files();
        var values = ChartValues.Parse(files.Single(f => f.Path == "values.yaml").Content, "values.yaml").With(overrides ?? new Dictionary<string, string>());
        var output = new StringBuilder();
        output.Append(CultureInfo.InvariantCulture, $"""
            # Kaito {Version}: rendered from deploy/kubernetes/chart with its default values. Generated: do not edit.
            # kubectl apply --server-side -f deploy/kubernetes/kaito.yaml
            apiVersion: v1
            kind: Namespace
            metadata:
              name: {releaseNamespace}
              labels:
                app.kubernetes.io/part-of: kaito
                pod-security.kubernetes.io/enforce: restricted

            """);
        foreach (var (path, content) in files.Where(f => f.Path.StartsWith("crds/", StringComparison.Ordinal)))
        {
            output.Append("---\n# Source: ").Append(path).Append('\n').Append(StripDocumentMarker(content).TrimEnd('\n')).Append('\n');
        }

        foreach (var (path, content) in files.Where(f => f.Path.StartsWith("templates/", StringComparison.Ordinal)))
        {
            var rendered = ChartRenderer.Render(path, content, values, releaseNamespace, Name, Version);
            foreach (var document in rendered.Split("\n---\n").Select(d => StripDocumentMarker(d).Trim('\n')).Where(d => d.Split('\n').Any(l => l.Length > 0 && !l.StartsWith('#'))))
            {
                output.Append("---\n# Source: ").Append(path).Append('\n').Append(document).Append('\n');
            }
        }

        return output.ToString();
    }

    /// <summary>Writes the chart to <c>&lt;directory&gt;/chart</c> and the rendered install to <c>&lt;directory&gt;/kaito.yaml</c>.</summary>
    public static void Write(string directory)
    {
        var chart = Path.Combine(directory, "chart");
        if (Directory.Exists(chart))
        {
            Directory.Delete(chart, recursive: true);
        }

        foreach (var (path, content) in Files())
        {
            var target = Path.Combine(chart, path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, content);
        }

        File.WriteAllText(Path.Combine(directory, "kaito.yaml"), RenderAll());
    }

    private static string StripDocumentMarker(string document) =>
        document.StartsWith("---\n", StringComparison.Ordinal) ? document[4..] : document;

    private static string ChartYaml() => $"""
        # Generated from the AppHost's model and the components' code (Kaito.Deploy): do not edit.
        apiVersion: v2
        name: {Name}
        description: Kaito for .NET — the Kubernetes AI toolchain operator (workspace controller, admission webhook, GPU node provisioner)
        type: application
        version: {Version}
        appVersion: "{Version}"
        kubeVersion: ">=1.28.0-0"
        home: https://github.com/kaito-dotnet/kaito-dotnet
        keywords: [kaito, llm, inference, fine-tuning, gpu]

        """;

    private static string ValuesYaml() => $"""
        # Kaito's settings. Generated (Kaito.Deploy): do not edit; override with --set or -f.

        image:
          # Where the component images are (deploy/images/build-images.sh --registry …): the controller, the provisioner,
          # and the images the controller gives workspace pods (inference server, tuner, model puller).
          registry: ghcr.io/kaito-dotnet
          # The images' tag: the release's version, never latest.
          tag: "{Version}"
          pullPolicy: IfNotPresent
          # A docker-registry Secret in the release namespace for a private registry ("" for none).
          pullSecret: ""

        controller:
          replicas: 2
          # The leader-election Lease, in the release namespace (KAITO's chart keeps its Lease there too).
          leaseName: kaito-controller
          # azure-gpu-provisioner (GPU nodes through NodeClaims) or byo (bring your own nodes).
          nodeProvisioner: azure-gpu-provisioner
          # The cloud whose SKU table sizes nodes: azure, aws or arc.
          cloud: azure
          # Where preset model images are pulled from.
          modelRegistry: mcr.microsoft.com/aks/kaito
          # host:port origins tuning data may come from although not public (comma-separated; "" for none).
          allowedDataHosts: ""
          resources:
            cpu: 100m
            memory: 256Mi
            memoryLimit: 1Gi

        provisioner:
          replicas: 1
          # The leader-election Lease, in the release namespace.
          leaseName: kaito-provisioner
          # azure (AKS agent pools), existing (nodes already there), or local (LocalCluster's simulated nodes only).
          provider: azure
          # LocalCluster only: lets the local provider create its simulated Node objects.
          createsNodes: false
          resources:
            cpu: 100m
            memory: 256Mi
            memoryLimit: 512Mi

        # The AKS cluster the azure provider manages (the names of Azure/gpu-provisioner's chart, as its environment).
        azure:
          subscriptionId: ""
          resourceGroup: ""
          clusterName: ""
          location: ""
          # Workload identity: the provisioner's managed identity (client ID), federated with its ServiceAccount.
          clientId: ""
          tenantId: ""

        webhook:
          # The admission webhook's HTTPS port on the controller pods (the Service kaito-webhook forwards 443 to it).
          port: {WebhookPort}

        telemetry:
          # An OTLP endpoint for traces, metrics and logs ("" for none), e.g. http://otel-collector.monitoring:4317.
          otlpEndpoint: ""

        networkPolicies:
          # Ingress to the controller and provisioner only on their ports (the webhook from the API server, health and
          # metrics), and to each inference workspace's server only from the cluster (or its load balancer).
          enabled: true

        nvidiaDevicePlugin:
          # Deploy NVIDIA's device plugin DaemonSet (nodes without the GPU operator or AKS's managed plugin).
          enabled: false
          image: nvcr.io/nvidia/k8s-device-plugin:v0.17.1

        """;

    private static string Labels(string component, int indent)
    {
        var pad = new string(' ', indent);
        return $"""
            {pad}app.kubernetes.io/name: {component}
            {pad}app.kubernetes.io/instance: {"{{ .Release.Name }}"}
            {pad}app.kubernetes.io/version: {"{{ .Chart.AppVersion | quote }}"}
            {pad}app.kubernetes.io/part-of: kaito
            """;
    }

    private static string ServiceAccounts() => $"""
        # The controller and the provisioner call the API with their own accounts; the token is mounted only into their pods.
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: {ControllerName}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ControllerName, 4)}
        automountServiceAccountToken: false
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: {ProvisionerName}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ProvisionerName, 4)}
        {"{{- if .Values.azure.clientId }}"}
          annotations:
            azure.workload.identity/client-id: {"{{ .Values.azure.clientId | quote }}"}
        {"{{- end }}"}
        automountServiceAccountToken: false

        """;

    private static string Rbac()
    {
        var builder = new StringBuilder("# Least privilege: what each component calls, and no more (Kaito.Deploy/ControlPlaneRbac.cs).\n");
        foreach (var component in ControlPlaneRbac.Components)
        {
            builder.Append(RoleAndBinding("ClusterRole", component.Name, component.ClusterRules, namespaced: false));
            builder.Append(RoleAndBinding("Role", component.Name, component.NamespaceRules, namespaced: true));
        }

        return builder.ToString().TrimEnd('\n', '-') + "\n";
    }

    /// <summary>A (Cluster)Role with <paramref name="rules"/> and its binding to the component's ServiceAccount.</summary>
    private static string RoleAndBinding(string kind, string component, IEnumerable<RbacRule> rules, bool namespaced)
    {
        var ns = namespaced ? "\n  namespace: {{ .Release.Namespace }}" : "";
        return $"""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: {kind}
            metadata:
              name: {component}{ns}
              labels:
            {Labels(component, 4)}
            rules:
            {RuleLines(rules)}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: {kind}Binding
            metadata:
              name: {component}{ns}
              labels:
            {Labels(component, 4)}
            roleRef:
              apiGroup: rbac.authorization.k8s.io
              kind: {kind}
              name: {component}
            subjects:
            - kind: ServiceAccount
              name: {component}
              namespace: {"{{ .Release.Namespace }}"}
            ---

            """;
    }

    private static string RuleLines(IEnumerable<RbacRule> rules)
    {
        var builder = new StringBuilder();
        foreach (var rule in rules)
        {
            if (rule.Condition is not null)
            {
                builder.Append("{{- if .Values.").Append(rule.Condition).Append(" }}\n");
            }

            if (rule.Reason is not null)
            {
                builder.Append("# ").Append(rule.Reason).Append('\n');
            }

            builder.Append("- apiGroups: [").Append(string.Join(", ", rule.ApiGroups.Select(g => $"\"{g}\""))).Append("]\n");
            builder.Append("  resources: [").Append(string.Join(", ", rule.Resources)).Append("]\n");
            if (rule.ResourceNames is { Count: > 0 } names)
            {
                builder.Append("  resourceNames: [").Append(string.Join(", ", names)).Append("]\n");
            }

            builder.Append("  verbs: [").Append(string.Join(", ", rule.Verbs)).Append("]\n");
            if (rule.Condition is not null)
            {
                builder.Append("{{- end }}\n");
            }
        }

        return builder.ToString().TrimEnd('\n');
    }

    private static string PodSecurity(string component) => $"""
              serviceAccountName: {component}
              # the account's token, here only (the account itself mounts none elsewhere)
              automountServiceAccountToken: true
              securityContext:
                runAsNonRoot: true
                runAsUser: 65532
                runAsGroup: 65532
                fsGroup: 65532
                seccompProfile:
                  type: RuntimeDefault
        {"{{- if .Values.image.pullSecret }}"}
              imagePullSecrets:
              - name: {"{{ .Values.image.pullSecret }}"}
        {"{{- end }}"}
              topologySpreadConstraints:
              - maxSkew: 1
                topologyKey: kubernetes.io/hostname
                whenUnsatisfiable: ScheduleAnyway
                labelSelector:
                  matchLabels:
                    app.kubernetes.io/name: {component}
              volumes:
              # the root file system is read-only: .NET's and ASP.NET's scratch files go here
              - name: tmp
                emptyDir:
                  sizeLimit: 64Mi
        """;

    private static string Container(string component, string resourcesKey, int port, IEnumerable<string> args, string extraPorts, string extraEnv) => $"""
              containers:
              - name: {component["kaito-".Length..]}
                image: "{"{{ .Values.image.registry }}"}/{component}:{"{{ .Values.image.tag }}"}"
                imagePullPolicy: {"{{ .Values.image.pullPolicy }}"}
                args:
        {string.Join("\n", args.Select(a => $"        - {a}"))}
                env:
                - name: POD_NAMESPACE
                  valueFrom:
                    fieldRef:
                      fieldPath: metadata.namespace
                - name: OTEL_SERVICE_NAME
                  value: {component}
        {"{{- if .Values.telemetry.otlpEndpoint }}"}
                - name: OTEL_EXPORTER_OTLP_ENDPOINT
                  value: {"{{ .Values.telemetry.otlpEndpoint | quote }}"}
        {"{{- end }}"}
        {extraEnv}        ports:
                - name: http
                  containerPort: {port.ToString(CultureInfo.InvariantCulture)}
        {extraPorts}        readinessProbe:
                  httpGet:
                    path: {HealthEndpoints.HealthPath}
                    port: http
                  periodSeconds: 10
                  failureThreshold: 3
                livenessProbe:
                  httpGet:
                    path: {HealthEndpoints.AlivePath}
                    port: http
                  initialDelaySeconds: 15
                  periodSeconds: 20
                  failureThreshold: 3
                resources:
                  requests:
                    cpu: {"{{ .Values." + resourcesKey + ".resources.cpu }}"}
                    memory: {"{{ .Values." + resourcesKey + ".resources.memory }}"}
                  limits:
                    memory: {"{{ .Values." + resourcesKey + ".resources.memoryLimit }}"}
                securityContext:
                  readOnlyRootFilesystem: true
                  allowPrivilegeEscalation: false
                  privileged: false
                  capabilities:
                    drop: [ALL]
                volumeMounts:
                - name: tmp
                  mountPath: /tmp
        """;

    private static string Deployment(string component, string valuesKey, string body, string podLabels = "") => $"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {component}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(component, 4)}
        spec:
          replicas: {"{{ .Values." + valuesKey + ".replicas }}"}
          revisionHistoryLimit: 5
          strategy:
            type: RollingUpdate
            rollingUpdate:
              maxUnavailable: 0
              maxSurge: 1
          selector:
            matchLabels:
              app.kubernetes.io/name: {component}
              app.kubernetes.io/instance: {"{{ .Release.Name }}"}
          template:
            metadata:
              labels:
        {Labels(component, 8)}{podLabels}
            spec:
        {body}
        """;

    private static string Controller()
    {
        string[] args =
        [
            "--webhook-port", "\"{{ .Values.webhook.port }}\"",
            "--register-webhook", "\"true\"",
            "--webhook-service", $"\"{{{{ .Release.Namespace }}}}/{WebhookService}\"",
            "--webhook-cert-secret", $"\"{{{{ .Release.Namespace }}}}/{WebhookCertificateSecret}\"",
            "--node-provisioner", "\"{{ .Values.controller.nodeProvisioner }}\"",
            "--cloud", "\"{{ .Values.controller.cloud }}\"",
            "--image-registry", "\"{{ .Values.image.registry }}\"",
            "--Controller:AllowedDataHosts={{ .Values.controller.allowedDataHosts }}",
            "--Controller:ImageTag={{ .Values.image.tag }}",
            "--Controller:ModelRegistry={{ .Values.controller.modelRegistry }}",
            "--Controller:ReleaseNamespace={{ .Release.Namespace }}",
            "--Controller:NetworkPolicies={{ .Values.networkPolicies.enabled }}",
            $"--LeaderElection:Namespace={{{{ .Release.Namespace }}}}",
            "--LeaderElection:LeaseName={{ .Values.controller.leaseName }}",
        ];
        var body = PodBody(ControllerName, "controller", DefaultPorts.Controller, args, extraPorts: """
                    - name: webhook
                      containerPort: {{ .Values.webhook.port }}

            """, extraEnv: "");
        return Deployment(ControllerName, "controller", body) + "\n" + $"""
            ---
            # Leader election keeps one active controller; the budget keeps one serving the webhook through node drains.
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata:
              name: {ControllerName}
              namespace: {"{{ .Release.Namespace }}"}
              labels:
            {Labels(ControllerName, 4)}
            spec:
              minAvailable: 1
              selector:
                matchLabels:
                  app.kubernetes.io/name: {ControllerName}
                  app.kubernetes.io/instance: {"{{ .Release.Name }}"}

            """;
    }

    private static string Provisioner()
    {
        string[] args =
        [
            "--provider", "\"{{ .Values.provisioner.provider }}\"",
            $"--LeaderElection:Namespace={{{{ .Release.Namespace }}}}",
            "--LeaderElection:LeaseName={{ .Values.provisioner.leaseName }}",
        ];
        var body = PodBody(ProvisionerName, "provisioner", DefaultPorts.Provisioner, args, extraPorts: "", extraEnv: """
                    # Azure/gpu-provisioner's names
                    - name: ARM_SUBSCRIPTION_ID
                      value: {{ .Values.azure.subscriptionId | quote }}
                    - name: ARM_RESOURCE_GROUP
                      value: {{ .Values.azure.resourceGroup | quote }}
                    - name: AZURE_CLUSTER_NAME
                      value: {{ .Values.azure.clusterName | quote }}
                    - name: LOCATION
                      value: {{ .Values.azure.location | quote }}
            {{- if .Values.azure.tenantId }}
                    - name: AZURE_TENANT_ID
                      value: {{ .Values.azure.tenantId | quote }}
            {{- end }}

            """);
        return Deployment(ProvisionerName, "provisioner", body, podLabels: """

                    # the AKS workload identity webhook injects the federated token into pods with this label
                    azure.workload.identity/use: "true"
            """) + "\n";
    }

    private static string PodBody(string component, string valuesKey, int port, string[] args, string extraPorts, string extraEnv) =>
        PodSecurity(component) + "\n" + Container(component, valuesKey, port, args.Select(a => a.StartsWith('"') ? a : $"\"{a}\""), extraPorts, extraEnv);

    private static string Webhook() => $"""
        # The API server calls the admission webhook through this Service; the controller registers the
        # ValidatingWebhookConfiguration {WebhookConfiguration} at start with the caBundle of the certificate it keeps in
        # the Secret below (created empty here, filled by the first replica, shared by all of them).
        apiVersion: v1
        kind: Service
        metadata:
          name: {WebhookService}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ControllerName, 4)}
        spec:
          type: ClusterIP
          selector:
            app.kubernetes.io/name: {ControllerName}
            app.kubernetes.io/instance: {"{{ .Release.Name }}"}
          ports:
          - name: https
            port: 443
            targetPort: webhook
            protocol: TCP
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: {WebhookCertificateSecret}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ControllerName, 4)}
        type: Opaque

        """;

    private static string TuningTemplates()
    {
        var builder = new StringBuilder("# KAITO's default tuning configurations, which workspaces without tuning.config use (lora/qlora).\n");
        foreach (var method in new[] { "lora", "qlora" })
        {
            var text = TrainingConfigValidator.DefaultTemplate(method).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');
            builder.Append(CultureInfo.InvariantCulture, $"""
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: {method}-params-template
                  namespace: {"{{ .Release.Namespace }}"}
                  labels:
                {Labels(ControllerName, 4)}
                data:
                  {TrainingConfigValidator.FileName}: |
                {string.Join("\n", text.Split('\n').Select(l => l.Length == 0 ? "" : "    " + l))}
                ---

                """);
        }

        return builder.ToString().TrimEnd('\n', '-') + "\n";
    }

    private static string NetworkPolicies() => $"""
        {"{{- if .Values.networkPolicies.enabled }}"}
        # The controller's pods take the webhook's HTTPS (from the API server, which is outside the pod network on AKS, so
        # from any address) and health and metrics on its HTTP port from this namespace; nothing else.
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: {ControllerName}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ControllerName, 4)}
        spec:
          podSelector:
            matchLabels:
              app.kubernetes.io/name: {ControllerName}
          policyTypes: [Ingress]
          ingress:
          - ports:
            - port: webhook
              protocol: TCP
          - from:
            - podSelector: {"{}"}
            ports:
            - port: http
              protocol: TCP
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: {ProvisionerName}
          namespace: {"{{ .Release.Namespace }}"}
          labels:
        {Labels(ProvisionerName, 4)}
        spec:
          podSelector:
            matchLabels:
              app.kubernetes.io/name: {ProvisionerName}
          policyTypes: [Ingress]
          ingress:
          - from:
            - podSelector: {"{}"}
            ports:
            - port: http
              protocol: TCP
        {"{{- end }}"}

        """;

    private static string NvidiaDevicePlugin() => $"""
        {"{{- if .Values.nvidiaDevicePlugin.enabled }}"}
        # NVIDIA's device plugin: advertises nvidia.com/gpu on GPU nodes (not needed with the GPU operator or AKS's plugin).
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: nvidia-device-plugin
          namespace: {"{{ .Release.Namespace }}"}
          labels:
            app.kubernetes.io/name: nvidia-device-plugin
            app.kubernetes.io/part-of: kaito
        spec:
          selector:
            matchLabels:
              app.kubernetes.io/name: nvidia-device-plugin
          updateStrategy:
            type: RollingUpdate
          template:
            metadata:
              labels:
                app.kubernetes.io/name: nvidia-device-plugin
            spec:
              priorityClassName: system-node-critical
              # root: it creates its socket in the kubelet's root-owned device-plugins folder; otherwise as restricted as the rest
              securityContext:
                seccompProfile:
                  type: RuntimeDefault
              automountServiceAccountToken: false
              nodeSelector:
                accelerator: nvidia
              tolerations:
              - key: nvidia.com/gpu
                operator: Exists
                effect: NoSchedule
              - key: sku
                operator: Equal
                value: gpu
                effect: NoSchedule
              containers:
              - name: nvidia-device-plugin
                image: {"{{ .Values.nvidiaDevicePlugin.image }}"}
                env:
                - name: FAIL_ON_INIT_ERROR
                  value: "false"
                securityContext:
                  readOnlyRootFilesystem: true
                  allowPrivilegeEscalation: false
                  capabilities:
                    drop: [ALL]
                volumeMounts:
                - name: device-plugin
                  mountPath: /var/lib/kubelet/device-plugins
              volumes:
              - name: device-plugin
                hostPath:
                  path: /var/lib/kubelet/device-plugins
        {"{{- end }}"}

        """;

    private static IEnumerable<(string Name, string Content)> Crds()
    {
        const string Prefix = "Kaito.Api.Crds.";
        var assembly = typeof(TrainingConfigValidator).Assembly;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            yield return (resource[Prefix.Length..], reader.ReadToEnd());
        }
    }
}
