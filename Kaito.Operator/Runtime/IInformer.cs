namespace Kaito.Operator.Runtime;

/// <summary>What health checks and hosts need of an informer, whatever its kind.</summary>
public interface IInformer
{
    ResourceKind Kind { get; }

    bool HasSynced { get; }

    TimeSpan SinceLastProgress { get; }

    Task RunAsync(CancellationToken cancellationToken);
}
