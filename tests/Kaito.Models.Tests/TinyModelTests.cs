using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Onnx;
using Kaito.Models.Tiny;

namespace Kaito.Models.Tests;

public sealed class TinyModelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kaito-tiny-").FullName;

    [Fact]
    public void TheSameSeedWritesByteIdenticalFiles()
    {
        TinyModel.Generate(Path.Combine(_root, "a"), seed: 3);
        TinyModel.Generate(Path.Combine(_root, "b"), seed: 3);
        TinyModel.Generate(Path.Combine(_root, "c"), seed: 4);

        foreach (var file in new[] { "hf/model.safetensors", "hf/tokenizer.json", "hf/config.json", "onnx/model.onnx", "onnx/genai_config.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "a", file)), File.ReadAllBytes(Path.Combine(_root, "b", file)));
        }

        Assert.NotEqual(File.ReadAllBytes(Path.Combine(_root, "a", "hf/model.safetensors")), File.ReadAllBytes(Path.Combine(_root, "c", "hf/model.safetensors")));
    }

    [Fact]
    public void BothLayoutsDescribeTheSameLlamaModel()
    {
        var (hf, onnx) = TinyModel.Generate(_root);

        var config = DecoderConfig.Load(hf);
        var weights = DecoderWeights.Load(hf);
        var genai = GenAiConfig.Load(onnx);

        Assert.Equal(["LlamaForCausalLM"], config.Architectures);
        Assert.Equal(2, config.KeyValueHeads);
        Assert.Equal(4, config.AttentionHeads);
        Assert.Equal(config.Layers, weights.Layers.Count);
        Assert.Equal(config.VocabSize, genai.Root["model"]!["vocab_size"]!.GetValue<int>());
        Assert.Equal(2048, genai.ContextLength);
        Assert.False(genai.Root["search"]!["past_present_share_buffer"]!.GetValue<bool>());
        Assert.True(File.Exists(Path.Combine(onnx, "tokenizer.json")));
        Assert.Contains("<|im_start|>", File.ReadAllText(Path.Combine(onnx, "tokenizer_config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigWithAnInvalidValueNamesTheKey()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "config.json"),
            """{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2}""");

        var error = Assert.Throws<InvalidDataException>(() => DecoderConfig.Load(_root));

        Assert.Contains("num_key_value_heads (2) must divide num_attention_heads (3)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingWeightIsNamed()
    {
        var hf = Path.Combine(_root, "hf");
        TinyModel.WriteHuggingFace(hf);
        var config = DecoderConfig.Load(hf);
        var tensors = new Safetensors.TensorCollection();
        foreach (var (name, tensor) in DecoderWeights.ReadTensors(hf).Where(t => t.Key != DecoderTensorNames.Mlp(1, "down")))
        {
            tensors.Add(name, tensor);
        }

        var error = Assert.Throws<InvalidDataException>(() => DecoderWeights.From(config, tensors, "test"));

        Assert.Contains("model.layers.1.mlp.down_proj.weight' is missing", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
