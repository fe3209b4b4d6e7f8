#pragma warning disable ASPIREPIPELINES001, ASPIREPIPELINES004 // the publish pipeline API is marked experimental in Aspire 13
using Aspire.Hosting.Pipelines;
using Kaito.Deploy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kaito.AppHost;

/// <summary>
/// The AppHost's Kubernetes publisher (Aspire.Hosting.Kubernetes is not available to us; this keeps its shape — a Helm
/// chart with values — so moving to it later is a swap): a step of Aspire's publish pipeline that writes Kaito's chart
/// and the same rendered for <c>kubectl apply</c>, for the control plane this AppHost runs.
/// <code>dotnet run --project Kaito.AppHost -- --operation publish --step publish-kubernetes --output-path deploy/kubernetes</code>
/// </summary>
public static partial class KubernetesPublisherExtensions
{
    public const string StepName = "publish-kubernetes";
    private static readonly string[] s_controlPlane = ["controller", "provisioner"];

    public static IDistributedApplicationBuilder AddKubernetesPublisher(this IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Pipeline.AddStep(StepName, context =>
        {
            // The control plane the chart deploys is the one this AppHost runs.
            var projects = context.Model.Resources.OfType<ProjectResource>().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var required in s_controlPlane)
            {
                if (!projects.Contains(required))
                {
                    throw new InvalidOperationException($"the AppHost has no '{required}' project: the chart deploys the controller and the provisioner");
                }
            }

            var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            KaitoChart.Write(output);
            LogWrote(context.Logger, KaitoChart.Version, output);
            return Task.CompletedTask;
        }, requiredBy: WellKnownPipelineSteps.Publish);
        return builder;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote Kaito {Version}'s chart to {Output}/chart and the rendered install to {Output}/kaito.yaml")]
    private static partial void LogWrote(ILogger logger, string version, string output);
}
