namespace Kaito.Operator.Runtime;

public enum InformerEventType
{
    Added,
    Updated,
    Deleted,
}

/// <summary>A change an informer saw: the object, and for updates the cached object it replaced.</summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Item, T? Previous);
