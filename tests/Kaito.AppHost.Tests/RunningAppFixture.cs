namespace Kaito.AppHost.Tests;

/// <summary>
/// One started AppHost shared by a test class (start ~10 s, stop ~15 s), exporting telemetry to an
/// <see cref="OtlpReceiver"/> and writing LocalCluster's kubeconfig to a folder of its own.
/// </summary>
public sealed class RunningAppFixture : IAsyncLifetime
{
    public static readonly string[] LongRunningServices = ["local-cluster", "controller", "provisioner", "inference-server"];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"kaito-apphost-tests-{Guid.NewGuid():N}");

    public DistributedApplication App { get; private set; } = null!;

    public OtlpReceiver Telemetry { get; private set; } = null!;

    public string Kubeconfig => Path.Combine(_folder, "local-cluster.kubeconfig");

    /// <summary>The AppHost's local registry (localhost:5001 for a developer; a free port here).</summary>
    public int RegistryPort { get; } = Kaito.Testing.Ports.Free();

    /// <summary>The AppHost's example datasets server (localhost:5002 for a developer), allowed as tuning data as the walk-through says.</summary>
    public int DatasetsPort { get; } = Kaito.Testing.Ports.Free();

    public async Task InitializeAsync()
    {
        Telemetry = await OtlpReceiver.StartAsync();

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(
            [$"--Kaito:LocalCluster:Kubeconfig={Kubeconfig}", $"--Kaito:LocalRegistry:Port={RegistryPort}", $"--Kaito:LocalDatasets:Port={DatasetsPort}",
             "--allowed-data-hosts", $"localhost:{DatasetsPort}"]);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(context =>
            {
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = Telemetry.Endpoint.ToString();
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "500";
                context.EnvironmentVariables["OTEL_BLRP_SCHEDULE_DELAY"] = "500";
                context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            });
        }

        var names = builder.Resources.Select(r => r.Name).ToList();
        App = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await App.StartAsync(timeout.Token);
            foreach (var service in LongRunningServices)
            {
                await App.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            var states = names.Select(name => App.ResourceNotifications.TryGetCurrentState(name, out var e)
                ? $"{name}: {e.Snapshot.State?.Text} health={e.Snapshot.HealthStatus} exit={e.Snapshot.ExitCode}"
                : $"{name}: no state");
            throw new TimeoutException($"the AppHost did not start within 3 minutes: {string.Join("; ", states)}");
        }
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }

        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
