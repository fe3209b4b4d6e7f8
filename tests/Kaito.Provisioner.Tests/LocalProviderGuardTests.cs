using System.Collections.Concurrent;
using Kaito.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kaito.Provisioner.Tests;

/// <summary>
/// The local provider writes simulated Node objects: against an API server that is not LocalCluster it refuses to start
/// and writes nothing. No kind or AKS runs here, so the other API server is a stand-in answering <c>/version</c> as
/// kube-apiserver v1.32.2 does (and 404 to everything else), which records every request it gets.
/// </summary>
public sealed class LocalProviderGuardTests : IAsyncLifetime
{
    private const string Commit = "67a30c0adcf52bd3f56ff0893ce19966be12991f";
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("kaito-guard-").FullName;
    private WebApplication _api = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        _address = $"http://127.0.0.1:{Ports.Free()}";
        builder.WebHost.UseUrls(_address);
        builder.Logging.ClearProviders();
        _api = builder.Build();
        _api.Use(async (context, next) =>
        {
            _requests.Enqueue($"{context.Request.Method} {context.Request.Path}");
            await next(context);
        });
        _api.MapGet("/version", () => Results.Json(new
        {
            major = "1", minor = "32", gitVersion = "v1.32.2", gitCommit = Commit, gitTreeState = "clean",
            buildDate = "2025-02-12T21:19:47Z", goVersion = "go1.23.6", compiler = "gc", platform = "linux/amd64",
        }));
        await _api.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(_folder, "kubeconfig"), $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: real
              cluster:
                server: "{_address}"
            users:
            - name: admin
              user:
                token: not-checked
            contexts:
            - name: real
              context:
                cluster: real
                user: admin
            current-context: real
            """);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task TheLocalProviderRefusesAnApiServerThatIsNotLocalClusterAndWritesNothing()
    {
        await using var provisioner = ServiceProcess.Start("Kaito.Provisioner", _folder,
            ["--kubeconfig", Path.Combine(_folder, "kubeconfig"), "--provider", "local", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);

        await Eventually.TrueAsync(() => provisioner.HasExited, TimeSpan.FromSeconds(90));

        Assert.Equal(2, provisioner.ExitCode);
        Assert.Contains(
            $"Refusing to start: the local provider creates simulated GPU nodes and runs only against LocalCluster, but {_address}/ is a Kubernetes API server " +
            $"v1.32.2 (commit {Commit}): use --provider existing for GPU nodes already in the cluster (kind, labelled nodes) or --provider azure for AKS",
            provisioner.FinalLog(), StringComparison.Ordinal);
        Assert.Contains("GET /version/", _requests);
        Assert.DoesNotContain(_requests, r => !r.StartsWith("GET ", StringComparison.Ordinal));
    }
}
