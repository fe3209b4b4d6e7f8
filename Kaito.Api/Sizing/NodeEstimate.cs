namespace Kaito.Api.Sizing;

/// <summary>The outcome of <see cref="NodeEstimator.Estimate"/>.</summary>
/// <param name="Nodes">Nodes needed; 0 when the model does not fit.</param>
/// <param name="MinimumGpus">GPUs needed.</param>
/// <param name="WeightsGiBPerGpu">Memory each GPU has for weights.</param>
/// <param name="Problem">Why the model cannot run on the SKU, when it cannot.</param>
public sealed record NodeEstimate(int Nodes, int MinimumGpus, double WeightsGiBPerGpu, string? Problem)
{
    /// <summary>Whether the model can run on the SKU at all.</summary>
    public bool Fits => Problem is null;

    internal static NodeEstimate DoesNotFit(string problem) => new(0, 0, 0, problem);
}
