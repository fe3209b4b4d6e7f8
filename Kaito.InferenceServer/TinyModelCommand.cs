using Kaito.Models.Tiny;

namespace Kaito.InferenceServer;

/// <summary>
/// <c>generate-tiny-model --out &lt;dir&gt; [--seed &lt;n&gt;] [--adapter &lt;name&gt;]</c>: writes the tiny random-weight
/// model (<c>hf/</c> and <c>onnx/</c>), and optionally a random LoRA adapter for it under <c>adapters/&lt;name&gt;</c>.
/// </summary>
public static class TinyModelCommand
{
    public const string Name = "generate-tiny-model";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        string? outDir = null;
        var seed = TinyModel.DefaultSeed;
        var adapters = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            try
            {
                switch (args[i])
                {
                    case "--out":
                        outDir = Value();
                        break;
                    case "--seed":
                        var text = Value();
                        seed = int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                            ? parsed
                            : throw new ArgumentException($"--seed must be an integer, got '{text}'.");
                        break;
                    case "--adapter":
                        adapters.Add(Value());
                        break;
                    default:
                        throw new ArgumentException($"Unknown option '{args[i]}'.");
                }
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"{Name}: {e.Message}");
                error.WriteLine($"usage: {Name} --out <dir> [--seed <n>] [--adapter <name>]...");
                return 2;
            }
        }

        if (outDir is null)
        {
            error.WriteLine($"{Name}: --out <dir> is required.");
            return 2;
        }

        var (hf, onnx) = TinyModel.Generate(outDir, seed);
        output.WriteLine($"Hugging Face layout: {hf}");
        output.WriteLine($"ONNX GenAI layout:   {onnx}");
        for (var i = 0; i < adapters.Count; i++)
        {
            var directory = Path.Combine(outDir, "adapters", adapters[i]);
            TinyModel.RandomAdapter(hf, adapters[i], seed + 1 + i).Save(directory);
            output.WriteLine($"LoRA adapter:        {directory}");
        }

        return 0;
    }
}
