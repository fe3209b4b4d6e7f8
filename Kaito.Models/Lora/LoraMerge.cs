using Kaito.Models.Safetensors;

namespace Kaito.Models.Lora;

/// <summary>Folds a LoRA adapter into base weights: W' = W + scale·B·A for every adapted module.</summary>
public static class LoraMerge
{
    /// <summary>Returns a copy of <paramref name="baseTensors"/> with the adapter merged (merged tensors become F32).</summary>
    public static TensorCollection Merge(TensorCollection baseTensors, LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(baseTensors);
        ArgumentNullException.ThrowIfNull(adapter);
        var merged = new TensorCollection(new Dictionary<string, string>(baseTensors.Metadata, StringComparer.Ordinal));
        foreach (var (name, tensor) in baseTensors)
        {
            merged.Add(name, tensor);
        }

        foreach (var (module, (a, b)) in adapter.Modules)
        {
            var weightName = module + ".weight";
            if (!baseTensors.TryGet(weightName, out var weight))
            {
                throw new InvalidDataException(
                    $"adapter '{adapter.Name}': module '{module}' has no base weight '{weightName}' (was it trained for another model?).");
            }

            long rows = b.Shape[0], columns = a.Shape[1];
            if (weight.Shape.Count != 2 || weight.Shape[0] != rows || weight.Shape[1] != columns)
            {
                throw new InvalidDataException(
                    $"adapter '{adapter.Name}': '{module}' maps [{columns}] to [{rows}] but the base weight is [{string.Join(", ", weight.Shape)}].");
            }

            var w = weight.ToFloats();
            AddProduct(w, b.ToFloats(), a.ToFloats(), (int)rows, adapter.Rank, (int)columns, (float)adapter.Scale);
            merged.Set(weightName, Tensor.FromFloats(w, weight.Shape));
        }

        return merged;
    }

    /// <summary>w[rows, columns] += scale · b[rows, rank] · a[rank, columns].</summary>
    private static void AddProduct(float[] w, float[] b, float[] a, int rows, int rank, int columns, float scale)
    {
        Parallel.For(0, rows, r =>
        {
            var row = w.AsSpan(r * columns, columns);
            for (var k = 0; k < rank; k++)
            {
                var factor = scale * b[(r * rank) + k];
                if (factor == 0)
                {
                    continue;
                }

                var aRow = a.AsSpan(k * columns, columns);
                for (var c = 0; c < columns; c++)
                {
                    row[c] += factor * aRow[c];
                }
            }
        });
    }
}
