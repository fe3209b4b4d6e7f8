using Kaito.Models.Lora;
using Kaito.Models.Safetensors;

namespace Kaito.Models.Tests;

public sealed class LoraMergeTests
{
    [Fact]
    public void MergeAddsScaledProductOfBAndA()
    {
        var baseWeights = new TensorCollection();
        baseWeights.Add("m.q_proj.weight", Tensor.FromFloats([1, 2, 3, 4, 5, 6], [2, 3]));
        baseWeights.Add("m.other.weight", Tensor.FromFloats([9], [1]));
        var adapter = Adapter(rank: 1, alpha: 2, a: [1, 0, -1], b: [1, 2]);

        var merged = LoraMerge.Merge(baseWeights, adapter);

        // scale = 2 / 1; B·A = [[1, 0, -1], [2, 0, -2]]
        Assert.Equal([3f, 2f, 1f, 8f, 5f, 2f], merged["m.q_proj.weight"].ToFloats());
        Assert.Same(baseWeights["m.other.weight"], merged["m.other.weight"]);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], baseWeights["m.q_proj.weight"].ToFloats());
    }

    [Fact]
    public void RsLoraScalesByTheSquareRootOfTheRank()
    {
        var adapter = Adapter(rank: 4, alpha: 8, a: new float[12], b: new float[8]);

        Assert.Equal(2.0, adapter.Scale);
        Assert.Equal(4.0, new LoraAdapter { Name = "x", Rank = 4, Alpha = 8, UseRsLora = true, Modules = adapter.Modules }.Scale);
    }

    [Fact]
    public void AModuleWithoutABaseWeightIsNamed()
    {
        var adapter = Adapter(rank: 1, alpha: 1, a: [1, 1, 1], b: [1, 1]);

        var error = Assert.Throws<InvalidDataException>(() => LoraMerge.Merge(new TensorCollection(), adapter));

        Assert.Contains("module 'm.q_proj' has no base weight 'm.q_proj.weight'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AShapeMismatchIsNamed()
    {
        var baseWeights = new TensorCollection();
        baseWeights.Add("m.q_proj.weight", Tensor.FromFloats(new float[8], [2, 4]));

        var error = Assert.Throws<InvalidDataException>(() => LoraMerge.Merge(baseWeights, Adapter(1, 1, [1, 1, 1], [1, 1])));

        Assert.Contains("maps [3] to [2] but the base weight is [2, 4]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveAndLoadUsePeftNames()
    {
        var directory = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Adapter(1, 2, [1, 0, -1], [1, 2]).Save(directory);

            var names = SafetensorsFile.Read(Path.Combine(directory, LoraAdapter.WeightsFileName)).Names;
            var loaded = LoraAdapter.Load(directory);

            Assert.Equal(["base_model.model.m.q_proj.lora_A.weight", "base_model.model.m.q_proj.lora_B.weight"], names);
            Assert.Equal(["m.q_proj"], loaded.Modules.Keys);
            Assert.Equal(2.0, loaded.Alpha);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static LoraAdapter Adapter(int rank, double alpha, float[] a, float[] b) => new()
    {
        Name = "test",
        Rank = rank,
        Alpha = alpha,
        TargetModules = ["q_proj"],
        Modules = new Dictionary<string, (Tensor, Tensor)>
        {
            ["m.q_proj"] = (Tensor.FromFloats(a, [rank, a.Length / rank]), Tensor.FromFloats(b, [b.Length / rank, rank])),
        },
    };
}
