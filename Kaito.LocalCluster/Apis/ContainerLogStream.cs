using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Kubelet;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>pods/log</c> for containers that really ran: their stdout and stderr from the kubelet's CRI log, with
/// <c>tailLines</c>, <c>sinceSeconds</c>/<c>sinceTime</c>, <c>timestamps</c>, <c>limitBytes</c> and <c>follow</c>
/// (new lines as they are written, until the container stops or the client goes).
/// </summary>
internal static class ContainerLogStream
{
    public static async Task WriteAsync(HttpContext context, string path, Func<bool> running, TimeProvider clock)
    {
        var query = context.Request.Query;
        var timestamps = query["timestamps"] == "true";
        var follow = query["follow"] == "true";
        DateTimeOffset? since = null;
        if (long.TryParse(query["sinceSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            since = clock.GetUtcNow() - TimeSpan.FromSeconds(seconds);
        }
        else if (DateTimeOffset.TryParse(query["sinceTime"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sinceTime))
        {
            since = sinceTime;
        }

        long? limit = long.TryParse(query["limitBytes"], CultureInfo.InvariantCulture, out var bytes) && bytes > 0 ? bytes : null;
        var lines = ContainerLogs.Read(path).Where(l => since is null || l.Time >= since).ToList();
        if (int.TryParse(query["tailLines"], CultureInfo.InvariantCulture, out var tail) && tail >= 0)
        {
            lines = lines.Skip(Math.Max(0, lines.Count - tail)).ToList();
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        long written = 0;
        async Task<bool> Emit(LogLine line)
        {
            var text = (timestamps ? line.Timestamp + " " : "") + line.Text + (line.Partial ? "" : "\n");
            var data = Encoding.UTF8.GetBytes(text);
            if (limit is not null && written + data.Length > limit)
            {
                await context.Response.Body.WriteAsync(data.AsMemory(0, (int)(limit.Value - written)), context.RequestAborted);
                return false;
            }

            written += data.Length;
            await context.Response.Body.WriteAsync(data, context.RequestAborted);
            return true;
        }

        foreach (var line in lines)
        {
            if (!await Emit(line))
            {
                return;
            }
        }

        if (!follow)
        {
            return;
        }

        // Follow: read on from where the file ended, until the container stops (and its last lines are out).
        await context.Response.Body.FlushAsync(context.RequestAborted);
        await ContainerLogs.FollowAsync(path, fromEnd: true, running, async line =>
        {
            var more = await Emit(line);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            return more;
        }, context.RequestAborted);
    }

    /// <summary>Whether <paramref name="container"/> of the pod at <paramref name="key"/> is running now.</summary>
    public static bool IsRunning(ClusterStore store, ObjectKey key, string uid, string container)
    {
        var pod = store.Get(key);
        if (pod is null || (string?)pod["metadata"]?["uid"] != uid)
        {
            return false;
        }

        return ((pod["status"]?["containerStatuses"]?.AsArray() ?? []).Concat(pod["status"]?["initContainerStatuses"]?.AsArray() ?? []))
            .OfType<JsonObject>()
            .Any(s => (string?)s["name"] == container && s["state"]?["running"] is not null);
    }
}
