using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kaito.AppHost.Tests;

/// <summary>
/// An OTLP/HTTP (protobuf) endpoint the services export to during the test, standing where the dashboard would.
/// Records which service sent which span and log.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentBag<ReceivedSpan> _spans = [];
    private readonly ConcurrentBag<ReceivedTrace> _traces = [];
    private readonly ConcurrentBag<ReceivedLog> _logs = [];

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Endpoint => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    public IReadOnlyCollection<ReceivedLog> Logs => _logs;

    /// <summary>Every span with its trace ID, to follow a trace across services.</summary>
    public IReadOnlyCollection<ReceivedTrace> Traces => _traces;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);

        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            foreach (var (service, scope, record) in await ReadAsync(request))
            {
                var name = ProtobufReader.String(record, 5) ?? "";
                receiver._spans.Add(new ReceivedSpan(service, scope, name));
                var traceId = ProtobufReader.Fields(record, 1).Select(id => Convert.ToHexStringLower(id.Span)).FirstOrDefault() ?? "";
                receiver._traces.Add(new ReceivedTrace(service, name, traceId));
            }

            return Results.Ok();
        });
        app.MapPost("/v1/logs", async (HttpRequest request) =>
        {
            foreach (var (service, scope, record) in await ReadAsync(request))
            {
                var body = ProtobufReader.Fields(record, 5).Select(b => ProtobufReader.String(b, 1)).FirstOrDefault();
                receiver._logs.Add(new ReceivedLog(service, scope, body ?? ""));
            }

            return Results.Ok();
        });
        app.MapPost("/v1/metrics", () => Results.Ok());

        await app.StartAsync();
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>
    /// Flattens an export request (traces and logs share the shape resource → scope → records: fields 1 / 1, 2 / 1, 2)
    /// into (service.name, scope name, record).
    /// </summary>
    private static async Task<List<(string Service, string Scope, ReadOnlyMemory<byte> Record)>> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        ReadOnlyMemory<byte> export = buffer.ToArray();

        var records = new List<(string, string, ReadOnlyMemory<byte>)>();
        foreach (var resourceRecords in ProtobufReader.Fields(export, 1))
        {
            var service = ProtobufReader.Fields(resourceRecords, 1)
                .SelectMany(resource => ProtobufReader.Fields(resource, 1))
                .Where(attribute => ProtobufReader.String(attribute, 1) == "service.name")
                .Select(attribute => ProtobufReader.Fields(attribute, 2).Select(v => ProtobufReader.String(v, 1)).FirstOrDefault())
                .FirstOrDefault() ?? "";

            foreach (var scopeRecords in ProtobufReader.Fields(resourceRecords, 2))
            {
                var scope = ProtobufReader.Fields(scopeRecords, 1).Select(s => ProtobufReader.String(s, 1)).FirstOrDefault() ?? "";
                records.AddRange(ProtobufReader.Fields(scopeRecords, 2).Select(record => (service, scope, record)));
            }
        }

        return records;
    }
}

public sealed record ReceivedSpan(string Service, string Scope, string Name);

public sealed record ReceivedTrace(string Service, string Name, string TraceId);

public sealed record ReceivedLog(string Service, string Scope, string Body);
