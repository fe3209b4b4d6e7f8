using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Kaito.Cli;

/// <summary>Where to find the cluster, as kubectl's global flags say.</summary>
public sealed record ClusterOptions(string? Kubeconfig, string? Context, string? Namespace)
{
    /// <summary>The client and the namespace (the flag, else the context's, else <c>default</c>).</summary>
    public (Kubernetes Client, string Namespace) Connect()
    {
        var file = Kubeconfig ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        var config = file is null && Context is null && KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(file, Context);
        return (new Kubernetes(config), Namespace ?? config.Namespace ?? "default");
    }
}

/// <summary><c>kubectl kaito chat</c> and <c>kubectl kaito status</c>.</summary>
public static class WorkspaceCommands
{
    private const string Group = "kaito.sh";
    private const string Version = "v1beta1";
    private const string Plural = "workspaces";

    /// <summary>
    /// Chats with a workspace's model through the API server's service proxy (no port-forward, no network path to the
    /// pods needed): one answer to <paramref name="prompt"/>, or a conversation read line by line from
    /// <paramref name="input"/> when none is given. Tokens are printed as they stream in.
    /// </summary>
    public static async Task<int> ChatAsync(ClusterOptions cluster, string workspace, string? prompt, string? system, int maxTokens, double? temperature, TextReader input, TextWriter output,
        TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var (client, ns) = cluster.Connect();
        using var _ = client;
        await GetWorkspaceAsync(client, ns, workspace, cancellationToken);
        var root = new Uri(client.BaseUri, $"api/v1/namespaces/{ns}/services/{workspace}:http/proxy/");
        var model = await ModelAsync(client, root, workspace, cancellationToken);
        var messages = new JsonArray();
        if (system is not null)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }

        if (prompt is not null)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = prompt });
            await StreamAnswerAsync(client, root, model, messages, maxTokens, temperature, output, cancellationToken);
            return 0;
        }

        await error.WriteLineAsync($"chatting with {model} in workspace {ns}/{workspace}; an empty line or Ctrl-D ends");
        while (true)
        {
            await error.WriteAsync("> ");
            var line = await input.ReadLineAsync(cancellationToken);
            if (string.IsNullOrWhiteSpace(line))
            {
                return 0;
            }

            messages.Add(new JsonObject { ["role"] = "user", ["content"] = line });
            var answer = await StreamAnswerAsync(client, root, model, messages, maxTokens, temperature, output, cancellationToken);
            messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = answer });
        }
    }

    private static async Task<string> ModelAsync(Kubernetes client, Uri root, string workspace, CancellationToken cancellationToken)
    {
        using var request = await RequestAsync(client, HttpMethod.Get, new Uri(root, "v1/models"), cancellationToken);
        using var response = await client.HttpClient.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new IOException($"workspace {workspace} is not serving yet ({(int)response.StatusCode}: {Message(body)}); see kubectl kaito status {workspace}");
        }

        return (string?)JsonNode.Parse(body)?["data"]?[0]?["id"] ?? throw new IOException($"workspace {workspace} serves no model");
    }

    private static async Task<string> StreamAnswerAsync(Kubernetes client, Uri root, string model, JsonArray messages, int maxTokens, double? temperature, TextWriter output,
        CancellationToken cancellationToken)
    {
        var payload = new JsonObject { ["model"] = model, ["messages"] = messages.DeepClone(), ["stream"] = true, ["max_tokens"] = maxTokens };
        if (temperature is { } t)
        {
            payload["temperature"] = t;
        }

        using var request = await RequestAsync(client, HttpMethod.Post, new Uri(root, "v1/chat/completions"), cancellationToken);
        request.Content = new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new IOException($"the model refused the request ({(int)response.StatusCode}: {Message(await response.Content.ReadAsStringAsync(cancellationToken))})");
        }

        var answer = new StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line[5..].Trim();
            if (data == "[DONE]")
            {
                break;
            }

            var chunk = JsonNode.Parse(data);
            if (chunk?["error"] is { } failure)
            {
                throw new IOException($"the model failed mid-answer: {failure["message"]}");
            }

            if ((string?)chunk?["choices"]?[0]?["delta"]?["content"] is { Length: > 0 } text)
            {
                answer.Append(text);
                await output.WriteAsync(text);
                await output.FlushAsync(cancellationToken);
            }
        }

        await output.WriteLineAsync();
        return answer.ToString();
    }

    /// <summary>
    /// Explains a workspace: its conditions, its pods' containers (state, restarts, last termination message) and the
    /// recent warning events, ending with the cause in one line when something is wrong. Exit code 0 when the workspace
    /// is ready or succeeded, 1 otherwise.
    /// </summary>
    public static async Task<int> StatusAsync(ClusterOptions cluster, string workspace, string format, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(output);
        var (client, ns) = cluster.Connect();
        using var _ = client;
        var ws = await GetWorkspaceAsync(client, ns, workspace, cancellationToken);
        var conditions = ws["status"]?["conditions"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"kaito.sh/workspace={workspace}", cancellationToken: cancellationToken)).Items;
        var events = (await client.CoreV1.ListNamespacedEventAsync(ns, cancellationToken: cancellationToken)).Items
            .Where(e => e.InvolvedObject?.Name == workspace || pods.Any(p => p.Metadata.Name == e.InvolvedObject?.Name))
            .OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp)
            .TakeLast(10)
            .ToList();
        var healthy = conditions.Any(c => (string?)c["type"] is "WorkspaceSucceeded" && (string?)c["status"] == "True");
        var cause = healthy ? null : Cause(conditions, pods, events);

        if (format is "json" or "yaml")
        {
            var report = new JsonObject
            {
                ["workspace"] = workspace,
                ["namespace"] = ns,
                ["ready"] = healthy,
                ["cause"] = cause,
                ["conditions"] = new JsonArray([.. conditions.Select(c => c.DeepClone())]),
                ["pods"] = new JsonArray([.. pods.Select(p => (JsonNode)JsonNode.Parse(KubernetesJson.Serialize(p.Status))!)]),
                ["events"] = new JsonArray([.. events.Select(e => (JsonNode)new JsonObject { ["type"] = e.Type, ["reason"] = e.Reason, ["object"] = e.InvolvedObject?.Name, ["message"] = e.Message })]),
            };
            await output.WriteLineAsync(format == "json" ? report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : KubernetesYaml.Serialize(report));
            return healthy ? 0 : 1;
        }

        await output.WriteLineAsync($"Workspace {ns}/{workspace}: {(healthy ? "ready" : "not ready")}");
        await output.WriteLineAsync();
        Output.Write(output, "table", ["Condition", "Status", "Reason", "Message"],
            [.. conditions.Select(c => (IReadOnlyList<object?>)[(string?)c["type"], (string?)c["status"], (string?)c["reason"], (string?)c["message"]])], "Conditions");
        foreach (var pod in pods)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync($"Pod {pod.Metadata.Name}: {pod.Status?.Phase}{(pod.Spec?.NodeName is { } node ? $" on {node}" : "")}");
            foreach (var container in (pod.Status?.InitContainerStatuses ?? []).Select(c => (Init: true, c)).Concat((pod.Status?.ContainerStatuses ?? []).Select(c => (Init: false, c))))
            {
                await output.WriteLineAsync($"  {(container.Init ? "init " : "")}container {container.c.Name}: {State(container.c.State)}, {container.c.RestartCount} restarts");
                if (container.c.LastState?.Terminated is { } last)
                {
                    await output.WriteLineAsync($"    last ended: {last.Reason} (exit code {last.ExitCode}){(string.IsNullOrWhiteSpace(last.Message) ? "" : ": " + last.Message.Trim())}");
                }
            }
        }

        var warnings = events.Where(e => e.Type == "Warning").ToList();
        if (warnings.Count > 0)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync("Recent warnings:");
            foreach (var e in warnings)
            {
                await output.WriteLineAsync($"  {e.InvolvedObject?.Kind}/{e.InvolvedObject?.Name} {e.Reason}: {e.Message}");
            }
        }

        if (cause is not null)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync($"Cause: {cause}");
        }

        return healthy ? 0 : 1;
    }

    /// <summary>
    /// The one thing to fix, in words: the False condition closest to the cause (a step's own condition before the
    /// summaries WorkspaceSucceeded and WorkspaceReady, which repeat it), else a pod's last error, else a warning event.
    /// </summary>
    internal static string? Cause(IReadOnlyList<JsonObject> conditions, IList<V1Pod> pods, IReadOnlyList<Corev1Event> events)
    {
        var failed = conditions
            .Where(c => (string?)c["status"] == "False" && !string.IsNullOrWhiteSpace((string?)c["message"]))
            .OrderBy(c => (string?)c["type"] is "WorkspaceSucceeded" or "WorkspaceReady" ? 1 : 0)
            .FirstOrDefault();
        if (failed is not null)
        {
            return $"{failed["type"]} is False ({failed["reason"]}): {failed["message"]}";
        }

        foreach (var pod in pods)
        {
            foreach (var container in (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []))
            {
                if ((container.State?.Terminated ?? container.LastState?.Terminated) is { ExitCode: not 0 } ended)
                {
                    return $"container {container.Name} of pod {pod.Metadata.Name} ended with {ended.Reason} (exit code {ended.ExitCode}){(string.IsNullOrWhiteSpace(ended.Message) ? "" : ": " + ended.Message.Trim())}";
                }
            }
        }

        return events.LastOrDefault(e => e.Type == "Warning") is { } warning ? $"{warning.InvolvedObject?.Kind}/{warning.InvolvedObject?.Name} {warning.Reason}: {warning.Message}" : null;
    }

    private static string State(V1ContainerState? state) => state switch
    {
        { Running: not null } => "running",
        { Terminated: { } t } => $"terminated ({t.Reason}, exit code {t.ExitCode})",
        { Waiting: { } w } => $"waiting ({w.Reason}{(string.IsNullOrWhiteSpace(w.Message) ? "" : ": " + w.Message)})",
        _ => "unknown",
    };

    private static async Task<JsonObject> GetWorkspaceAsync(Kubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var found = await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(Group, Version, ns, Plural, name, cancellationToken);
            return JsonNode.Parse(found.GetRawText())!.AsObject();
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new ArgumentException($"workspace \"{name}\" not found in namespace {ns}", e);
        }
    }

    /// <summary>A request to the API server with the kubeconfig's credentials (a token is added per request; certificates are the handler's).</summary>
    private static async Task<HttpRequestMessage> RequestAsync(Kubernetes client, HttpMethod method, Uri uri, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken);
        }

        return request;
    }

    private static string Message(string body)
    {
        try
        {
            return (string?)JsonNode.Parse(body)?["message"] ?? (string?)JsonNode.Parse(body)?["error"]?["message"] ?? body;
        }
        catch (JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }
}
