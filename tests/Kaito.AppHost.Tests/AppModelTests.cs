namespace Kaito.AppHost.Tests;

/// <summary>The app model as the AppHost builds it, inspected without starting anything.</summary>
public sealed class AppModelTests
{
    private static readonly string[] s_services = ["local-cluster", "controller", "provisioner", "inference-server", "tuner", "tiny-model", "model-push"];

    [Fact]
    public async Task ModelHasEveryServiceAndWiresLocalClusterIntoTheControlPlane()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>();

        var projects = builder.Resources.OfType<ProjectResource>().ToDictionary(p => p.Name);
        Assert.Equal(s_services.Order(), projects.Keys.Order());

        var localCluster = projects["local-cluster"];
        var kubeconfig = ArgumentAfter(await ArgumentsOf(localCluster), "--kubeconfig");
        foreach (var name in new[] { "controller", "provisioner" })
        {
            var service = projects[name];
            Assert.Contains(service.Annotations.OfType<WaitAnnotation>(), w => w.Resource == localCluster);
            Assert.Contains(service.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == localCluster);
            Assert.Equal(kubeconfig, (await EnvironmentOf(service))["Kubernetes__Kubeconfig"]);
        }

        Assert.True(Path.IsPathFullyQualified(kubeconfig));
        Assert.Empty(projects["inference-server"].Annotations.OfType<WaitAnnotation>());
        Assert.Single(projects["tuner"].Annotations.OfType<ExplicitStartupAnnotation>());
        Assert.Empty(projects["controller"].Annotations.OfType<ExplicitStartupAnnotation>());
    }

    [Fact]
    public async Task LocalClusterGetsARegistryWithTheTinyModelAndRunsKaitosImagesFromTheLocalBuilds()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--Kaito:LocalRegistry:Port=5999"]);

        var registry = Assert.Single(builder.Resources.OfType<ExecutableResource>(), r => r.Name == "model-registry");
        var projects = builder.Resources.OfType<ProjectResource>().ToDictionary(p => p.Name);
        var push = await ArgumentsOf(projects["model-push"]);
        Assert.Equal("localhost:5999", ArgumentAfter(push, "--registry"));
        Assert.Equal("kaito-tiny", ArgumentAfter(push, "--preset"));
        Assert.Equal(ArgumentAfter(await ArgumentsOf(projects["tiny-model"]), "tiny"), push[2]);
        Assert.Contains(projects["model-push"].Annotations.OfType<WaitAnnotation>(), w => w.Resource == registry);
        Assert.Contains(projects["model-push"].Annotations.OfType<WaitAnnotation>(), w => w.Resource == projects["tiny-model"] && w.WaitType == WaitType.WaitForCompletion);
        Assert.Equal("localhost:5999", (await EnvironmentOf(projects["controller"]))["Controller__ModelRegistry"]);
        Assert.DoesNotContain("Controller__AllowedDataHosts", (await EnvironmentOf(projects["controller"])).Keys);

        var cluster = await EnvironmentOf(projects["local-cluster"]);
        foreach (var (image, assembly) in new[] { ("kaito-inference-server", "Kaito.InferenceServer.dll"), ("kaito-model-puller", "kaito-model-puller.dll"), ("kaito-tuner", "Kaito.Tuner.dll") })
        {
            var path = cluster[$"LocalCluster__Kubelet__Components__{image}"];
            Assert.EndsWith(assembly, path, StringComparison.Ordinal);
            Assert.True(File.Exists(path), path);
        }
    }

    [Fact]
    public async Task TheExampleDatasetsAreServedOnLoopbackButAllowedAsTuningDataOnlyWhenNamed()
    {
        await using (var unnamed = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--Kaito:LocalDatasets:Port=5998"]))
        {
            var datasets = Assert.Single(unnamed.Resources.OfType<ExecutableResource>(), r => r.Name == "datasets");
            var arguments = await ArgumentsOf(datasets);
            Assert.Equal("httpd", arguments[0]);
            Assert.Equal("127.0.0.1:5998", ArgumentAfter(arguments, "-p"));
            var folder = ArgumentAfter(arguments, "-h");
            Assert.True(File.Exists(Path.Combine(folder, "kaito-tiny-count.jsonl")), folder);
            Assert.DoesNotContain("Controller__AllowedDataHosts", (await EnvironmentOf(unnamed.Resources.OfType<ProjectResource>().Single(p => p.Name == "controller"))).Keys);
        }

        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--allowed-data-hosts", "localhost:5002"]);
        var controller = builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "controller");
        Assert.Equal("localhost:5002", (await EnvironmentOf(controller))["Controller__AllowedDataHosts"]);
    }

    [Fact]
    public async Task TheProvisionersNodeProviderAndTheCrdInstallFollowTheClusterAndLocalIsRefusedForARealOne()
    {
        var kubeconfig = Path.GetTempFileName();
        try
        {
            async Task<Dictionary<string, string>> ProvisionerEnvironmentAsync(string[] args)
            {
                await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(args);
                return await EnvironmentOf(builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "provisioner"));
            }

            Assert.Equal("local", (await ProvisionerEnvironmentAsync([]))["Provisioner__Provider"]);
            Assert.Equal("existing", (await ProvisionerEnvironmentAsync(["--kubeconfig", kubeconfig]))["Provisioner__Provider"]);
            var aks = await ProvisionerEnvironmentAsync(["--kubeconfig", kubeconfig, "--subscription", "sub-1", "--resource-group", "rg-1", "--cluster", "aks-1"]);
            Assert.Equal("azure", aks["Provisioner__Provider"]);
            Assert.Equal(("sub-1", "rg-1", "aks-1"), (aks["Provisioner__Azure__SubscriptionId"], aks["Provisioner__Azure__ResourceGroup"], aks["Provisioner__Azure__ClusterName"]));

            await using (var crds = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--kubeconfig", kubeconfig]))
            {
                Assert.Equal("false", (await EnvironmentOf(crds.Resources.OfType<ProjectResource>().Single(p => p.Name == "controller")))["Controller__InstallCrds"]);
            }

            await using (var crds = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--kubeconfig", kubeconfig, "--install-crds", "true"]))
            {
                Assert.Equal("true", (await EnvironmentOf(crds.Resources.OfType<ProjectResource>().Single(p => p.Name == "controller")))["Controller__InstallCrds"]);
            }

            var refused = await Assert.ThrowsAnyAsync<Exception>(() => ProvisionerEnvironmentAsync(["--kubeconfig", kubeconfig, "--provider", "local"]));
            Assert.Contains("--provider local makes simulated GPU nodes and runs only against LocalCluster", refused.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task AKubeconfigAndContextReplaceLocalCluster()
    {
        var kubeconfig = Path.GetTempFileName();
        try
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(
                ["--kubeconfig", kubeconfig, "--context", "kind-kaito"]);

            Assert.DoesNotContain(builder.Resources, r => r.Name is "local-cluster" or "model-registry" or "model-push" or "datasets");
            foreach (var controlPlane in builder.Resources.OfType<ProjectResource>().Where(p => p.Name is "controller" or "provisioner"))
            {
                var environment = await EnvironmentOf(controlPlane);
                Assert.Equal(Path.GetFullPath(kubeconfig), environment["Kubernetes__Kubeconfig"]);
                Assert.Equal("kind-kaito", environment["Kubernetes__Context"]);
                Assert.Empty(controlPlane.Annotations.OfType<WaitAnnotation>());
            }
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task TheInferenceServerServesTheTinyModelUnlessAModelIsNamed()
    {
        await using (var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>())
        {
            var arguments = await ArgumentsOf(builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "inference-server"));
            Assert.EndsWith(Path.Combine(".kaito", "tiny-model"), ArgumentAfter(arguments, "--tiny-model"), StringComparison.Ordinal);
            Assert.DoesNotContain("--model", arguments);
        }

        var model = Directory.CreateTempSubdirectory().FullName;
        try
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--model", model]);
            var arguments = await ArgumentsOf(builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "inference-server"));
            Assert.Equal(model, ArgumentAfter(arguments, "--model"));
            Assert.DoesNotContain("--tiny-model", arguments);
        }
        finally
        {
            Directory.Delete(model);
        }
    }

    [Fact]
    public async Task AMissingKubeconfigIsRefusedWithTheFileNamed()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"kaito-missing-{Guid.NewGuid():N}.kubeconfig");

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.Kaito_AppHost>(["--kubeconfig", missing]));

        var root = error.GetBaseException();
        Assert.IsType<InvalidOperationException>(root);
        Assert.Contains(missing, root.Message, StringComparison.Ordinal);
    }

    // Evaluated as for publishing: run-mode values wait for endpoint allocation, which only a started app performs.
    private static async Task<Dictionary<string, string>> EnvironmentOf(IResourceWithEnvironment resource) =>
#pragma warning disable CS0618 // the testing helper is the documented way to evaluate a resource's environment
        await resource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618

    private static async Task<string[]> ArgumentsOf(IResourceWithArgs resource) =>
#pragma warning disable CS0618
        await resource.GetArgumentValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618

    private static string ArgumentAfter(string[] arguments, string name) =>
        arguments[Array.IndexOf(arguments, name) + 1];
}
