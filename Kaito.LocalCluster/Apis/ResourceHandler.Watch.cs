using System.Globalization;
using System.Text.Json.Nodes;
using Kaito.LocalCluster.Storage;

namespace Kaito.LocalCluster.Apis;

public sealed partial class ResourceHandler
{
    private static readonly TimeSpan s_bookmarkInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Streams watch events as newline-delimited JSON until the client goes, the timeout passes, or the store closes the
    /// watch. Selectors apply to both sides of a change: an object that stops matching is sent as DELETED, one that
    /// starts matching as ADDED. Bookmarks carry the current revision when the client allows them.
    /// </summary>
    private async Task<(int Code, JsonNode Body)?> WatchAsync(HttpContext context, ResourceRequest request)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"]);
        var bookmarks = query["allowWatchBookmarks"] is ["true" or "1"];
        var asTable = Tables.IsRequested(context.Request.Headers.Accept);
        var timeout = int.TryParse(query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(30);
        if (faults.CurrentValue.WatchLifetime is { } lifetime && lifetime < timeout)
        {
            timeout = lifetime;
        }

        Watch watch;
        try
        {
            watch = store.StartWatch(request.Type.GroupResource, request.Namespace, query["resourceVersion"]);
        }
        catch (ApiException expired) when (expired.Code == 410)
        {
            // As kube-apiserver does: the watch itself succeeds and its first event is an ERROR carrying the 410 Status.
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await SendAsync(context, "ERROR", expired.ToStatus(), context.RequestAborted);
            return null;
        }

        using var _ = watch;
        using var open = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        open.CancelAfter(timeout);

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(open.Token);
        var lastRevision = watch.StartRevision;
        try
        {
            while (!open.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(open.Token);
                tick.CancelAfter(s_bookmarkInterval);
                StoreEvent? change;
                try
                {
                    change = await watch.Events.WaitToReadAsync(tick.Token) && watch.Events.TryRead(out var next) ? next : null;
                    if (change is null)
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (!open.IsCancellationRequested)
                {
                    if (bookmarks)
                    {
                        await SendAsync(context, "BOOKMARK", Bookmark(request, Math.Max(lastRevision, store.Revision)), open.Token);
                    }

                    continue;
                }

                lastRevision = change.Revision;
                if (Translate(change, labels, fields) is not { } type)
                {
                    continue;
                }

                var item = ForVersion(change.Item, request);
                JsonNode body = asTable
                    ? Tables.Render(request.Type, request.Version, [item], change.Revision.ToString(CultureInfo.InvariantCulture), query["includeObject"], clock.GetUtcNow())
                    : item;
                await SendAsync(context, type, body, open.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away or the timeout passed: the stream simply ends
        }

        return null;
    }

    private static string? Translate(StoreEvent change, LabelSelector labels, FieldSelector fields)
    {
        bool Matches(JsonObject? item) => item is not null && labels.Matches(item) && fields.Matches(item);

        var now = change.Type != StoreEvent.Deleted && Matches(change.Item);
        var before = change.Type switch
        {
            StoreEvent.Added => false,
            StoreEvent.Deleted => Matches(change.Previous ?? change.Item),
            _ => Matches(change.Previous),
        };

        return (before, now) switch
        {
            (false, true) => change.Type == StoreEvent.Modified && change.Previous is not null ? StoreEvent.Added : change.Type,
            (true, true) => StoreEvent.Modified,
            (true, false) => StoreEvent.Deleted,
            _ => null,
        };
    }

    private static JsonObject Bookmark(ResourceRequest request, long revision) => new()
    {
        ["kind"] = request.Type.Kind,
        ["apiVersion"] = request.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
    };

    private static async Task SendAsync(HttpContext context, string type, JsonNode item, CancellationToken cancellationToken)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString(s_json) + "\n";
        await context.Response.WriteAsync(line, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }
}
