using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Kaito.Api.Names;
using Kaito.Api.Workspaces;
using Kaito.Operator.Client;

namespace Kaito.Controller.Workspaces;

/// <summary>
/// KAITO's syncControllerRevision (pkg/workspace/controllers/workspace_controller.go): on a new specification hash, a
/// ControllerRevision <c>&lt;ws&gt;-&lt;hash[:5]&gt;</c> holding the resource, inference and tuning sections
/// (revision = latest + 1; a spec returning to an earlier hash moves that revision to the front), at most
/// <see cref="HistoryLimit"/> kept; then the <c>workspace.kaito.io/hash</c> and <c>/revision</c> annotations.
/// </summary>
public sealed class RevisionSync(ObjectClient client)
{
    /// <summary>KAITO's MaxRevisionHistoryLimit.</summary>
    public const int HistoryLimit = 10;

    /// <summary>Records a changed specification; true when it wrote (the workspace's update event brings the next pass).</summary>
    public async Task<bool> SyncAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var hash = SpecificationHash(workspace);
        if (Annotation(workspace.Metadata, Annotations.Hash) == hash)
        {
            return false;
        }

        var ns = workspace.Metadata.NamespaceProperty;
        var revisions = (await client.ListAsync<V1ControllerRevision>(ns, $"{Labels.RevisionWorkspaceName}={workspace.Metadata.Name}", cancellationToken))
            .Where(r => r.Metadata.OwnerReferences?.Any(o => o.Uid == workspace.Metadata.Uid) ?? false)
            .OrderBy(r => r.Revision).ToList();
        var next = revisions.Select(r => (long?)r.Revision ?? 0).DefaultIfEmpty(0).Max() + 1;
        var same = revisions.FirstOrDefault(r => Annotation(r.Metadata, Annotations.Hash) == hash);
        if (same is not null)
        {
            await client.PatchAsync(same, new { revision = next }, conditional: false, cancellationToken);
        }
        else
        {
            var revision = new V1ControllerRevision
            {
                ApiVersion = "apps/v1",
                Kind = "ControllerRevision",
                Metadata = InferenceWorkload.Metadata(workspace, $"{workspace.Metadata.Name}-{hash[..5]}"),
                Revision = next,
                Data = new Dictionary<string, object?> { ["resource"] = workspace.Resource, ["inference"] = workspace.Inference, ["tuning"] = workspace.Tuning },
            };
            revision.Metadata.Labels[Labels.RevisionWorkspaceName] = workspace.Metadata.Name;
            revision.Metadata.Annotations = new Dictionary<string, string> { [Annotations.Hash] = hash };
            await client.CreateAsync(revision, cancellationToken);
            revisions.Add(revision);
        }

        foreach (var old in revisions.Where(r => r != same && Annotation(r.Metadata, Annotations.Hash) != hash).Take(Math.Max(0, revisions.Count - HistoryLimit)))
        {
            await client.DeleteAsync<V1ControllerRevision>(ns, old.Metadata.Name, null, cancellationToken);
        }

        await client.PatchAsync(workspace, new
        {
            metadata = new
            {
                annotations = new Dictionary<string, string>
                {
                    [Annotations.Hash] = hash,
                    [Annotations.Revision] = next.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            },
        }, conditional: true, cancellationToken);
        return true;
    }

    /// <summary>sha256 of the JSON of <c>resource</c>, <c>inference</c> and <c>tuning</c>, as KAITO's hash annotation.</summary>
    public static string SpecificationHash(Workspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var json = Json(workspace.Resource) + Json(workspace.Inference) + Json(workspace.Tuning);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>The revision a workspace is at (1 before the first sync).</summary>
    public static string Of(V1ObjectMeta metadata) => Annotation(metadata, Annotations.Revision) ?? "1";

    internal static string? Annotation(V1ObjectMeta metadata, string key) =>
        metadata.Annotations?.TryGetValue(key, out var value) == true ? value : null;

    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);
}
