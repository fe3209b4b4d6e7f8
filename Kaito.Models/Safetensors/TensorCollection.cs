using System.Collections;

namespace Kaito.Models.Safetensors;

/// <summary>Named tensors in insertion order, plus the file's string metadata.</summary>
public sealed class TensorCollection(IDictionary<string, string>? metadata = null) : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    public IDictionary<string, string> Metadata { get; } = metadata ?? new Dictionary<string, string>(StringComparer.Ordinal);

    public int Count => _tensors.Count;

    public IEnumerable<string> Names => _order;

    public Tensor this[string name] => _tensors.TryGetValue(name, out var tensor)
        ? tensor
        : throw new KeyNotFoundException($"The weights have no tensor named '{name}'.");

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor tensor) =>
        _tensors.TryGetValue(name, out tensor);

    public void Add(string name, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_tensors.TryAdd(name, tensor))
        {
            throw new ArgumentException($"A tensor named '{name}' is already present.", nameof(name));
        }

        _order.Add(name);
    }

    /// <summary>Replaces a tensor in place, keeping its position.</summary>
    public void Set(string name, Tensor tensor)
    {
        if (_tensors.ContainsKey(name))
        {
            _tensors[name] = tensor;
        }
        else
        {
            Add(name, tensor);
        }
    }

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() =>
        _order.Select(name => new KeyValuePair<string, Tensor>(name, _tensors[name])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
