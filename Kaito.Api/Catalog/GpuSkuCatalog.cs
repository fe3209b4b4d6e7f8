namespace Kaito.Api.Catalog;

/// <summary>
/// GPU instance types per cloud, loaded from YAML (the embedded <c>gpu-skus.yaml</c> by default). Lookups are
/// case-insensitive; Azure also tolerates unknown <c>Standard_N*</c> and <c>Standard_D*</c> names, as KAITO does.
/// </summary>
public sealed class GpuSkuCatalog
{
    /// <summary>The clouds the catalog knows.</summary>
    public static readonly IReadOnlyList<string> Clouds = ["azure", "aws", "arc"];

    private static readonly Lazy<GpuSkuCatalog> s_default = new(() => Load(YamlDocuments.ReadEmbedded(FileName), FileName));

    private readonly Dictionary<string, GpuSku> _byName;

    private GpuSkuCatalog(IReadOnlyList<GpuSku> skus)
    {
        Skus = skus;
        _byName = skus.ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The embedded table's file name.</summary>
    public const string FileName = "gpu-skus.yaml";

    /// <summary>The table shipped with Kaito.</summary>
    public static GpuSkuCatalog Default => s_default.Value;

    /// <summary>Every SKU, in file order.</summary>
    public IReadOnlyList<GpuSku> Skus { get; }

    /// <summary>Finds a SKU by name (case-insensitive), in any cloud or in <paramref name="cloud"/> only.</summary>
    public GpuSku? Find(string? name, string? cloud = null) =>
        name is not null && _byName.TryGetValue(name, out var sku) && (cloud is null || sku.Cloud == cloud) ? sku : null;

    /// <summary>The SKU names of one cloud.</summary>
    public IEnumerable<string> Names(string cloud) => Skus.Where(s => s.Cloud == cloud).Select(s => s.Name);

    /// <summary>An unknown Azure name KAITO lets through (GPU or general-purpose families) without sizing checks.</summary>
    public static bool IsToleratedAzureName(string name) =>
        name.StartsWith("Standard_N", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Standard_D", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a SKU table; a malformed entry fails with a <see cref="CatalogFormatException"/> naming file, entry, field and line.</summary>
    public static GpuSkuCatalog Load(string yaml, string file)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrWhiteSpace(file);

        var root = YamlDocuments.ParseRoot(yaml, file);
        foreach (var (key, value) in root.Children)
        {
            var cloud = ((YamlDotNet.RepresentationModel.YamlScalarNode)key).Value!;
            if (!Clouds.Contains(cloud))
            {
                throw new CatalogFormatException(file, cloud, null, key.Start.Line, $"unknown cloud; expected one of {string.Join(", ", Clouds)}");
            }
        }

        var skus = new List<GpuSku>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cloud in Clouds)
        {
            foreach (var entry in YamlDocuments.Entries(root, cloud, file, m => YamlDocuments.ScalarValue(m, "name")))
            {
                var sku = new GpuSku
                {
                    Cloud = cloud,
                    Name = entry.String("name", required: true)!,
                    Gpus = entry.Int("gpus", required: true, minimum: 1)!.Value,
                    GpuMemoryGiB = entry.Double("gpuMemoryGiB", required: true, exclusiveMinimum: 0)!.Value,
                    GpuModel = entry.String("gpuModel", required: true)!,
                    ComputeCapability = entry.Double("computeCapability", exclusiveMinimum: 0),
                    Cpu = entry.Int("cpu", required: true, minimum: 1)!.Value,
                    MemoryGiB = entry.Int("memoryGiB", required: true, minimum: 1)!.Value,
                    Nvme = entry.Bool("nvme"),
                    Legacy = entry.Bool("legacy"),
                };
                entry.RejectUnknownFields();
                if (!names.Add(sku.Name))
                {
                    throw entry.EntryError("name", $"'{sku.Name}' is listed twice");
                }

                skus.Add(sku);
            }
        }

        return new GpuSkuCatalog(skus);
    }
}
