using System.Text.Json.Nodes;
using Kaito.Api.Serialization;
using Kaito.Api.Workspaces;
using Kaito.Testing;
using k8s.Models;

namespace Kaito.Api.Tests;

/// <summary>Valid workspaces to start each rule's case from.</summary>
internal static class WorkspaceBuilders
{
    public static Workspace Inference(Action<Workspace>? change = null) => Build("""
        apiVersion: kaito.sh/v1beta1
        kind: Workspace
        metadata: {name: workspace-phi-4-mini, namespace: default}
        resource:
          instanceType: Standard_NC24ads_A100_v4
          labelSelector: {matchLabels: {apps: phi-4-mini}}
        inference:
          preset: {name: phi-4-mini-instruct}
        """, change);

    public static Workspace Tuning(Action<Workspace>? change = null) => Build(
        File.ReadAllText(Repository.PathOf("examples", "fine-tuning", "kaito_workspace_tuning_phi_3.yaml")), change);

    public static Workspace Transformers(Action<Workspace>? change = null) => Inference(w =>
    {
        w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/runtime"] = "transformers" };
        w.Inference!.Preset!.Name = "phi-3-mini-4k-instruct";
        change?.Invoke(w);
    });

    public static AdapterSpec ImageAdapter(string name, string? strength = null) =>
        new() { Source = new DataSource { Name = name, Image = $"registry.example.com/adapters/{name}:1" }, Strength = strength };

    public static JsonObject PvcVolume(string claim) =>
        new() { ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = claim } };

    public static V1LabelSelector Selector(params (string Key, string Value)[] labels) =>
        new() { MatchLabels = labels.ToDictionary(l => l.Key, l => l.Value) };

    private static Workspace Build(string yaml, Action<Workspace>? change)
    {
        var workspace = KaitoYaml.Deserialize<Workspace>(yaml);
        change?.Invoke(workspace);
        return workspace;
    }
}
