using Kaito.Testing;

namespace Kaito.Controller.Tests;

/// <summary>A cluster without Kaito's CRDs (as a real cluster before they are applied): said in one line, then picked up once applied.</summary>
public sealed class CrdCheckTests
{
    [Fact]
    public async Task MissingCrdsAreNamedWithWhatToApplyAndTheControllerCarriesOnOnceTheyAreApplied()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        await using var controller = ServiceProcess.Start("Kaito.Controller", Path.GetTempPath(),
            ["--kubeconfig", cluster.Kubeconfig, "--install-crds", "false", "--LeaderElection:Enabled=false", "--urls", "http://127.0.0.1:0"]);

        await Eventually.TrueAsync(() => controller.Log.Contains("Kaito's CRDs are not right in this cluster:", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        var line = controller.Log.Split('\n').First(l => l.Contains("Kaito's CRDs are not right", StringComparison.Ordinal));
        Assert.Contains("workspaces.kaito.sh is missing", line, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -f deploy/crds/ (or start the controller with --install-crds true)", line, StringComparison.Ordinal);
        Assert.False(controller.HasExited);

        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("deploy", "crds"))).EnsureSuccess();
        await Eventually.TrueAsync(() => controller.Log.Contains("Kaito's CRDs are present", StringComparison.Ordinal), TimeSpan.FromMinutes(3));
        (await cluster.Kubectl.RunAsync("apply", "-f", Repository.PathOf("examples", "inference", "kaito_workspace_phi_4_mini.yaml"))).EnsureSuccess();
        await Eventually.ValueAsync(async () =>
            (await cluster.Kubectl.RunAsync("get", "wk", "workspace-phi-4-mini", "-o", "jsonpath={.metadata.finalizers}")).Output.Contains("workspace.finalizer.kaito.sh", StringComparison.Ordinal) ? "reconciled" : null,
            TimeSpan.FromMinutes(3), () => controller.Log);
    }
}
