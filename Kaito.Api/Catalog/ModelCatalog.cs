using Kaito.Api.Names;
using Kaito.Api.Workspaces;

namespace Kaito.Api.Catalog;

/// <summary>
/// The model presets, loaded from YAML (the embedded <c>models.yaml</c> by default). Names resolve
/// case-insensitively by preset name, alias or Hugging Face id.
/// </summary>
public sealed class ModelCatalog
{
    private static readonly Lazy<ModelCatalog> s_default = new(() => Load(YamlDocuments.ReadEmbedded(FileName), FileName));
    private static readonly string[] s_runtimes = [Runtimes.VLlm, Runtimes.Transformers];
    private static readonly string[] s_methods = [TuningMethods.Lora, TuningMethods.QLora];

    private readonly Dictionary<string, ModelPreset> _byName;

    private ModelCatalog(IReadOnlyList<ModelPreset> presets, Dictionary<string, ModelPreset> byName)
    {
        Presets = presets;
        _byName = byName;
    }

    /// <summary>The embedded catalog's file name.</summary>
    public const string FileName = "models.yaml";

    /// <summary>The catalog shipped with Kaito.</summary>
    public static ModelCatalog Default => s_default.Value;

    /// <summary>Every preset, in file order.</summary>
    public IReadOnlyList<ModelPreset> Presets { get; }

    /// <summary>Resolves a preset name, alias or HF id (case-insensitive).</summary>
    public bool TryResolve(string? name, out ModelPreset preset)
    {
        preset = null!;
        return !string.IsNullOrWhiteSpace(name) && _byName.TryGetValue(name.Trim(), out preset!);
    }

    /// <summary>Parses a catalog; a malformed entry fails with a <see cref="CatalogFormatException"/> naming file, entry, field and line.</summary>
    public static ModelCatalog Load(string yaml, string file)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrWhiteSpace(file);

        var root = YamlDocuments.ParseRoot(yaml, file);
        var presets = new List<ModelPreset>();
        var byName = new Dictionary<string, ModelPreset>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in YamlDocuments.Entries(root, "models", file, m => YamlDocuments.ScalarValue(m, "name")))
        {
            var preset = Read(entry);
            foreach (var key in new[] { preset.Name, preset.Id }.Concat(preset.Aliases))
            {
                if (!byName.TryAdd(key, preset))
                {
                    throw new CatalogFormatException(file, entry.Label, "name", entry.Line,
                        $"'{key}' already names {byName[key].Name}");
                }
            }

            presets.Add(preset);
        }

        if (presets.Count == 0)
        {
            throw new CatalogFormatException(file, null, "models", 1, "the catalog has no models");
        }

        return new ModelCatalog(presets, byName);
    }

    private static ModelPreset Read(YamlEntry entry)
    {
        var kvHeads = entry.Int("kvHeads", minimum: 1);
        var headDim = entry.Int("headDim", minimum: 1);
        var kvLoraRank = entry.Int("kvLoraRank", minimum: 1);
        var qkRopeHeadDim = entry.Int("qkRopeHeadDim", minimum: 1);
        var tuning = entry.Mapping("tuning");

        var preset = new ModelPreset
        {
            Name = entry.String("name", required: true)!,
            Id = entry.String("id", required: true)!,
            Aliases = entry.Strings("aliases"),
            Architecture = entry.String("architecture", required: true)!,
            Description = entry.String("description"),
            ImageTag = entry.String("imageTag", required: true)!,
            Revision = entry.String("revision"),
            Layers = entry.Int("layers", required: true, minimum: 1)!.Value,
            HiddenSize = entry.Int("hiddenSize", required: true, minimum: 1)!.Value,
            AttentionHeads = entry.Int("attentionHeads", required: true, minimum: 1)!.Value,
            KvHeads = kvHeads,
            HeadDim = headDim,
            KvLoraRank = kvLoraRank,
            QkRopeHeadDim = qkRopeHeadDim,
            ContextLength = entry.Int("contextLength", required: true, minimum: 1)!.Value,
            DType = entry.String("dtype", required: true)!,
            Quantization = entry.String("quantization"),
            WeightsGiB = entry.Double("weightsGiB", required: true, exclusiveMinimum: 0)!.Value,
            Gated = entry.Bool("gated"),
            Deprecated = entry.Bool("deprecated"),
            CpuOnly = entry.Bool("cpuOnly"),
            Runtimes = entry.Strings("runtimes", s_runtimes),
            Tuning = tuning is null ? null : ReadTuning(tuning),
        };
        entry.RejectUnknownFields();

        if (preset.ImageTag.Length > 128 || !preset.ImageTag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') || preset.ImageTag[0] is '.' or '-')
        {
            throw entry.EntryError("imageTag", $"'{preset.ImageTag}' is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})");
        }

        if (preset.Revision is { } revision && (revision.Length != 40 || !revision.All(char.IsAsciiHexDigitLower)))
        {
            throw entry.EntryError("revision", $"'{revision}' is not a commit (40 lowercase hex digits)");
        }

        var gqa = kvHeads is not null && headDim is not null;
        var mla = kvLoraRank is not null && qkRopeHeadDim is not null;
        if (gqa == mla)
        {
            throw entry.EntryError("kvHeads",
                "give either kvHeads and headDim (grouped-query attention) or kvLoraRank and qkRopeHeadDim (MLA), not both or neither");
        }

        if (preset.Runtimes.Count == 0)
        {
            throw entry.EntryError("runtimes", "list at least one runtime");
        }

        return preset;
    }

    private static TuningSupport ReadTuning(YamlEntry tuning)
    {
        var support = new TuningSupport(
            tuning.Strings("methods", s_methods),
            tuning.Int("diskGiB", required: true, minimum: 1)!.Value);
        tuning.RejectUnknownFields();
        return support;
    }
}
