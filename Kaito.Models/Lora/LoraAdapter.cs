using System.Text.Json.Nodes;
using Kaito.Models.Json;
using Kaito.Models.Safetensors;

namespace Kaito.Models.Lora;

/// <summary>
/// A PEFT LoRA adapter folder: <c>adapter_config.json</c> (r, lora_alpha, target_modules, use_rslora) and
/// <c>adapter_model.safetensors</c> holding <c>base_model.model.{module}.lora_A|lora_B.weight</c> pairs.
/// </summary>
public sealed class LoraAdapter
{
    public const string ConfigFileName = ModelLayout.AdapterConfigFile;
    public const string WeightsFileName = ModelLayout.AdapterWeightsFile;
    private const string Prefix = "base_model.model.";

    public required string Name { get; init; }

    public required int Rank { get; init; }

    public required double Alpha { get; init; }

    public bool UseRsLora { get; init; }

    public IReadOnlyList<string> TargetModules { get; init; } = [];

    public string? BaseModel { get; init; }

    /// <summary>Module name (e.g. <c>model.layers.0.self_attn.q_proj</c>) to its A [r, in] and B [out, r] matrices.</summary>
    public required IReadOnlyDictionary<string, (Tensor A, Tensor B)> Modules { get; init; }

    /// <summary>The factor PEFT applies to B·A: alpha / r, or alpha / √r with rsLoRA.</summary>
    public double Scale => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    public static bool IsAdapterDirectory(string directory) =>
        File.Exists(Path.Combine(directory, ConfigFileName)) && File.Exists(Path.Combine(directory, WeightsFileName));

    public static LoraAdapter Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var configPath = Path.Combine(directory, ConfigFileName);
        var config = JsonFields.ParseObject(File.ReadAllBytes(configPath), configPath);
        var peftType = JsonFields.Text(config, "peft_type", configPath);
        if (peftType is not null and not "LORA")
        {
            throw new InvalidDataException($"{configPath}: peft_type is '{peftType}'; only LORA adapters can be merged.");
        }

        var rank = JsonFields.WholeNumber(config, "r", configPath) ?? throw new InvalidDataException($"{configPath}: r is missing.");
        if (rank <= 0)
        {
            throw new InvalidDataException($"{configPath}: r must be positive, got {rank}.");
        }

        if (JsonFields.Boolean(config, "fan_in_fan_out", configPath) == true)
        {
            throw new InvalidDataException($"{configPath}: fan_in_fan_out adapters (GPT-2 Conv1D layers) are not supported.");
        }

        var alpha = JsonFields.Number(config, "lora_alpha", configPath) ?? rank;
        var useRsLora = JsonFields.Boolean(config, "use_rslora", configPath) ?? false;
        var targets = JsonFields.Strings(config, "target_modules", configPath);
        var baseModel = JsonFields.Text(config, "base_model_name_or_path", configPath);

        var tensors = SafetensorsFile.Read(Path.Combine(directory, WeightsFileName));
        var modules = new Dictionary<string, (Tensor A, Tensor B)>(StringComparer.Ordinal);
        foreach (var name in tensors.Names.Where(n => n.EndsWith(".lora_A.weight", StringComparison.Ordinal)))
        {
            var module = name[..^".lora_A.weight".Length];
            var bName = module + ".lora_B.weight";
            if (!tensors.TryGet(bName, out var b))
            {
                throw new InvalidDataException($"{directory}: '{name}' has no matching '{bName}'.");
            }

            var a = tensors[name];
            if (!IsFloat(a) || !IsFloat(b))
            {
                throw new InvalidDataException(
                    $"{directory}: '{module}' is stored as {a.DType} and {b.DType}; LoRA weights must be F32, F16 or BF16.");
            }

            if (a.Shape.Count != 2 || b.Shape.Count != 2 || a.Shape[0] != rank || b.Shape[1] != rank)
            {
                throw new InvalidDataException(
                    $"{directory}: '{module}' has A [{string.Join(", ", a.Shape)}] and B [{string.Join(", ", b.Shape)}]; r = {rank} needs A [r, in] and B [out, r].");
            }

            modules[module.StartsWith(Prefix, StringComparison.Ordinal) ? module[Prefix.Length..] : module] = (a, b);
        }

        if (modules.Count == 0)
        {
            throw new InvalidDataException($"{directory}: {WeightsFileName} holds no lora_A/lora_B weights.");
        }

        return new LoraAdapter
        {
            Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)),
            Rank = rank,
            Alpha = alpha,
            UseRsLora = useRsLora,
            TargetModules = targets,
            BaseModel = baseModel,
            Modules = modules,
        };
    }

    /// <summary>Writes the adapter in PEFT's layout (so PEFT, vLLM and our server all read it).</summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = BaseModel,
            ["r"] = Rank,
            ["lora_alpha"] = Alpha,
            ["lora_dropout"] = 0.0,
            ["use_rslora"] = UseRsLora,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["target_modules"] = new JsonArray([.. TargetModules.Select(t => (JsonNode)t)]),
        };
        DurableFile.WriteAllText(Path.Combine(directory, ConfigFileName), config.ToJsonString(Json.ModelJson.Options));
        var tensors = new TensorCollection();
        foreach (var (module, (a, b)) in Modules.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            tensors.Add($"{Prefix}{module}.lora_A.weight", a);
            tensors.Add($"{Prefix}{module}.lora_B.weight", b);
        }

        SafetensorsFile.Write(Path.Combine(directory, WeightsFileName), tensors);
    }

    private static bool IsFloat(Tensor tensor) => tensor.DType is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;
}
