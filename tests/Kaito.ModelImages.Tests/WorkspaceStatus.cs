using System.Text.Json.Nodes;
using Kaito.Testing;

namespace Kaito.ModelImages.Tests;

/// <summary>kaito-tiny workspaces applied with kubectl, and their conditions as kubectl shows them.</summary>
public static class WorkspaceStatus
{
    /// <summary>
    /// Applies a kaito-tiny inference workspace on the nodes labelled <c>apps: &lt;nodeLabel&gt;</c>, with
    /// <paramref name="presetOptions"/> (YAML lines, e.g. <c>modelAccessSecret: hf-token</c>) when given.
    /// </summary>
    public static async Task ApplyTinyAsync(Kubectl kubectl, string name, string nodeLabel, params string[] presetOptions)
    {
        ArgumentNullException.ThrowIfNull(kubectl);
        var options = presetOptions.Length == 0 ? "" : "\n    presetOptions:" + string.Concat(presetOptions.Select(line => $"\n      {line}"));
        (await kubectl.RunAsync(["apply", "-f", "-"], $"""
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: {name}
            resource:
              labelSelector:
                matchLabels:
                  apps: {nodeLabel}
            inference:
              preset:
                name: kaito-tiny{options}
            """, TimeSpan.FromSeconds(60))).EnsureSuccess();
    }

    public static async Task<(string Status, string Reason, string Message)?> ConditionAsync(Kubectl kubectl, string workspace, string type = "InferenceReady")
    {
        ArgumentNullException.ThrowIfNull(kubectl);
        var result = await kubectl.RunAsync("get", "workspace", workspace, "-o", "json");
        var condition = result.ExitCode != 0 ? null
            : JsonNode.Parse(result.Output)?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c?["type"] == type);
        return condition is null ? null : ((string?)condition["status"] ?? "", (string?)condition["reason"] ?? "", (string?)condition["message"] ?? "");
    }
}
