using System.Globalization;
using k8s;
using k8s.Models;
using Kaito.Api.Catalog;
using Kaito.Api.Names;
using Kaito.Api.Nodes;
using Kaito.Api.Sizing;
using Kaito.Api.Workspaces;

namespace Kaito.Api.Validation;

/// <summary>
/// The admission rules for a Workspace as a pure function: given the new object (and the old one on update), every
/// problem with its field path and KAITO's message. Beyond KAITO, adapter sources are validated on create too.
/// </summary>
public static partial class WorkspaceValidator
{
    /// <summary>The most adapters a workspace may serve.</summary>
    public const int MaxAdapters = 10;

    private static readonly string[] s_imageFamilies = ["ubuntu", "azurelinux"];
    private static readonly string[] s_performanceModes = ["balanced", "interactivity", "throughput"];
    private static readonly string[] s_booleans = ["true", "false"];
    private static readonly string[] s_runtimes = [Runtimes.VLlm, Runtimes.Transformers];

    /// <summary>Validates a create (<paramref name="old"/> null) or an update.</summary>
    public static ValidationResult Validate(Workspace workspace, Workspace? old = null, ValidationContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        context ??= new ValidationContext();
        var result = new ValidationResult();

        // An object on its way out only loses finalizers; rules that changed since it was created must not trap it.
        if (workspace.Metadata.DeletionTimestamp is not null)
        {
            return result;
        }

        if (old is not null)
        {
            ValidateUpdate(workspace, old, context, result);
            if (SameSpecification(workspace, old))
            {
                return result;
            }
        }

        ValidateCreate(workspace, context, result, creating: old is null);
        return result;
    }

    /// <summary>The runtime a workspace uses: its annotation, vLLM by default, transformers when the vLLM gate is off.</summary>
    public static string RuntimeOf(Workspace workspace, ValidationContext context)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(context);
        if (!context.VLlmEnabled)
        {
            return Runtimes.Transformers;
        }

        return workspace.Metadata.Annotations?.TryGetValue(Annotations.Runtime, out var runtime) == true &&
               string.Equals(runtime, Runtimes.Transformers, StringComparison.OrdinalIgnoreCase)
            ? Runtimes.Transformers
            : Runtimes.VLlm;
    }

    private static void ValidateCreate(Workspace workspace, ValidationContext context, ValidationResult result, bool creating)
    {
        if (!KubernetesNames.IsDns1123Label(workspace.Metadata.Name))
        {
            result.Error("metadata.name", $"'{workspace.Metadata.Name}' must be a DNS-1123 label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit");
        }

        ValidateAnnotations(workspace, result);

        if (workspace.Inference is null && workspace.Tuning is null)
        {
            result.Error("", "Either Inference or Tuning must be specified, not neither");
        }
        else if (workspace.Inference is not null && workspace.Tuning is not null)
        {
            result.Error("", "Either Inference or Tuning must be specified, but not both");
        }

        if (workspace.Resource is null)
        {
            result.Error("resource", "resource is required");
            return;
        }

        ValidateLabelSelector(workspace.Resource.LabelSelector, result);
        var runtime = RuntimeOf(workspace, context);
        ModelPreset? model = null;
        if (workspace.Inference is { } inference && workspace.Tuning is null)
        {
            model = ValidateInference(workspace, inference, runtime, context, result);
        }
        else if (workspace.Tuning is { } tuning && workspace.Inference is null)
        {
            model = ValidateTuning(workspace, tuning, context, result);
        }

        ValidateResource(workspace, model, runtime, context, result, creating);
    }

    private static void ValidateAnnotations(Workspace workspace, ValidationResult result)
    {
        var annotations = workspace.Metadata.Annotations;
        if (annotations is null)
        {
            return;
        }

        OneOf(Annotations.NodeImageFamily, s_imageFamilies);
        OneOf(Annotations.PerformanceMode, s_performanceModes);
        OneOf(Annotations.UseLocalWeights, s_booleans);
        OneOf(Annotations.Runtime, s_runtimes);
        OneOf(Annotations.LoadBalancerScope, ["internal", "public"]);
        foreach (var secret in new[] { Annotations.ApiKeysSecret, Annotations.TlsSecret })
        {
            if (annotations.TryGetValue(secret, out var name) && !KubernetesNames.IsDns1123Subdomain(name))
            {
                result.Error($"metadata.annotations[{secret}]", $"'{name}' is not a Secret name (a DNS-1123 subdomain)");
            }
        }

        if (annotations.TryGetValue(Annotations.ModelWeightsClaim, out var claim) && !KubernetesNames.IsDns1123Subdomain(claim))
        {
            result.Error($"metadata.annotations[{Annotations.ModelWeightsClaim}]", $"'{claim}' is not a PersistentVolumeClaim name (a DNS-1123 subdomain)");
        }

        void OneOf(string key, string[] allowed)
        {
            if (annotations.TryGetValue(key, out var value) && !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
            {
                result.Error($"metadata.annotations[{key}]", $"invalid value '{value}': must be one of {string.Join(", ", allowed)}");
            }
        }
    }

    private static void ValidateLabelSelector(V1LabelSelector? selector, ValidationResult result)
    {
        const string Path = "resource.labelSelector";
        if (selector is null)
        {
            result.Error(Path, "labelSelector is required");
            return;
        }

        var usable = 0;
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (LabelProblem(key, value) is { } problem)
            {
                result.Error($"{Path}.matchLabels[{key}]", problem);
            }
            else if (!Labels.IsReserved(key))
            {
                usable++;
            }
        }

        var expressions = selector.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var expression = expressions[i];
            if (expression.OperatorProperty != "In" || expression.Values is not { Count: 1 })
            {
                result.Error($"{Path}.matchExpressions[{i}]",
                    "only In expressions with exactly one value are supported: the labels are put on the nodes KAITO provisions");
            }
            else if (LabelProblem(expression.Key, expression.Values[0]) is { } problem)
            {
                result.Error($"{Path}.matchExpressions[{i}]", problem);
            }
            else if (!Labels.IsReserved(expression.Key))
            {
                usable++;
            }
        }

        if (usable == 0)
        {
            result.Error($"{Path}.matchLabels", "matchLabels must contain at least one non-reserved label");
        }
    }

    private static ModelPreset? ValidateInference(Workspace workspace, InferenceSpec inference, string runtime, ValidationContext context, ValidationResult result)
    {
        if (inference.Preset is null && inference.Template is null)
        {
            result.Error("inference", "Preset or Template must be specified");
        }
        else if (inference.Preset is not null && inference.Template is not null)
        {
            result.Error("inference", "Preset and Template cannot be set at the same time");
        }

        ModelPreset? model = null;
        if (inference.Preset is { } preset)
        {
            model = ResolvePreset(preset, "inference.preset", "inference", context, result);
            if (model is not null && !model.SupportsRuntime(runtime))
            {
                result.Error("inference.preset.name", runtime == Runtimes.Transformers
                    ? $"model {preset.Name} does not support inference with Huggingface Transformers runtime"
                    : $"model {preset.Name} does not support inference with the vLLM runtime; set the annotation {Annotations.Runtime}: {Runtimes.Transformers}");
            }

            ValidatePresetOptions(preset, model, result);
        }

        if (inference.Template is { } template &&
            (template["spec"]?["containers"] is not System.Text.Json.Nodes.JsonArray { Count: > 0 }))
        {
            result.Error("inference.template.spec.containers", "a pod template needs at least one container");
        }

        if (inference.Config is { } config)
        {
            ValidateInferenceConfig(config, model, runtime, context, result);
        }

        ValidateAdapters(inference.Adapters, runtime, result);
        return model;
    }

    private static void ValidatePresetOptions(PresetSpec preset, ModelPreset? model, ValidationResult result)
    {
        var options = preset.PresetOptions;
        if (string.Equals(preset.AccessMode, "private", StringComparison.OrdinalIgnoreCase) && string.IsNullOrEmpty(options?.Image))
        {
            result.Error("inference.preset.presetOptions.image", "When AccessMode is private, an image must be provided in PresetOptions");
        }

        if (options?.Image is { } image && ImageReferences.Problem(image) is { } imageProblem)
        {
            result.Error("inference.preset.presetOptions.image", imageProblem);
        }

        ValidateSecretNames(options?.ImagePullSecrets, "inference.preset.presetOptions.imagePullSecrets", result);
        if (options?.ModelAccessSecret is { } secret)
        {
            CheckSecretName(secret, "inference.preset.presetOptions.modelAccessSecret", result);
        }
        else if (model is { Gated: true })
        {
            result.Error("inference.preset.presetOptions.modelAccessSecret",
                $"model {preset.Name} is gated: name a Secret in the workspace's namespace whose HF_TOKEN key grants access");
        }
    }

    private static void ValidateInferenceConfig(string config, ModelPreset? model, string runtime, ValidationContext context, ValidationResult result)
    {
        const string Path = "inference.config";
        if (!KubernetesNames.IsDns1123Subdomain(config))
        {
            result.Error(Path, $"'{config}' is not a valid ConfigMap name");
            return;
        }

        if (context.ConfigMaps is null || runtime != Runtimes.VLlm)
        {
            return;
        }

        const string Key = "inference_config.yaml";
        var data = context.ConfigMaps(config);
        if (data is null)
        {
            result.Error(Path, $"ConfigMap {config} specified in 'config' was not found in the workspace's namespace");
        }
        else if (!data.TryGetValue(Key, out var yaml))
        {
            result.Error(Path, $"ConfigMap {config} does not contain the key {Key}");
        }
        else
        {
            foreach (var problem in InferenceConfigValidator.Validate(yaml, model))
            {
                result.Error(Path, $"ConfigMap {config}: {problem}");
            }
        }
    }

    private static void ValidateAdapters(IList<AdapterSpec>? adapters, string runtime, ValidationResult result)
    {
        if (adapters is null)
        {
            return;
        }

        if (adapters.Count > MaxAdapters)
        {
            result.Error("inference.adapters", $"Number of Adapters exceeds the maximum limit, maximum of {MaxAdapters} allowed");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < adapters.Count; i++)
        {
            var path = $"inference.adapters[{i}]";
            var adapter = adapters[i];
            if (adapter.Source is not { } source)
            {
                result.Error($"{path}.source", "source is required");
                continue;
            }

            if (!KubernetesNames.IsDns1123Subdomain(source.Name))
            {
                result.Error($"{path}.source.name", $"'{source.Name}' must be a DNS-1123 subdomain: it names the adapter's folder and served model");
            }
            else if (!names.Add(source.Name!))
            {
                result.Error($"{path}.source.name", $"Duplicate adapter source name found: {source.Name}");
            }

            if (source.Urls is { Count: > 0 })
            {
                result.Error($"{path}.source.urls", "URLs are not supported as adapter source");
            }

            ValidateImageOrVolume(source.Image, source.VolumeSource is not null, $"{path}.source", result);
            CheckVolume(source.VolumeSource, $"{path}.source.volumeSource", result);
            ValidateSecretNames(source.ImagePullSecrets, $"{path}.source.imagePullSecrets", result);

            if (adapter.Strength is { } strength)
            {
                if (runtime == Runtimes.VLlm)
                {
                    result.Error($"{path}.strength", "vLLM does not support adapter strength");
                }
                else if (!decimal.TryParse(strength, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || value > 1)
                {
                    result.Error($"{path}.strength", $"Invalid strength value '{strength}' for adapter {source.Name}: must be a decimal between 0 and 1");
                }
            }
        }
    }

    private static ModelPreset? ValidateTuning(Workspace workspace, TuningSpec tuning, ValidationContext context, ValidationResult result)
    {
        ModelPreset? model = null;
        if (tuning.Preset is null)
        {
            result.Error("tuning.preset", "Preset must be specified for tuning");
        }
        else
        {
            model = ResolvePreset(tuning.Preset, "tuning.preset", "tuning", context, result);
            if (model is not null && model.Tuning is null)
            {
                result.Error("tuning.preset.name", $"Preset {tuning.Preset.Name} does not support tuning");
                model = null;
            }
        }

        if (!TuningMethods.IsKnown(tuning.Method))
        {
            result.Error("tuning.method", $"Unsupported tuning method '{tuning.Method}': must be {TuningMethods.Lora} or {TuningMethods.QLora}");
        }
        else if (model is not null && !model.SupportsTuning(tuning.Method!))
        {
            result.Error("tuning.method", $"Preset {model.Name} does not support tuning method {tuning.Method}");
        }

        if (workspace.Resource?.Count is > 1)
        {
            result.Error("resource.count", "Tuning does not currently support multinode configurations. Please set the node count to 1. Future support with DeepSpeed will allow this.");
        }

        if (workspace.Resource?.Partition is not null)
        {
            result.Error("resource.partition", "partition is not supported for tuning");
        }

        ValidateTuningInput(tuning.Input, context, result);
        ValidateTuningOutput(tuning.Output, result);
        if (tuning.Config is { } config)
        {
            ValidateTrainingConfig(config, tuning.Method, context, result);
        }

        return model;
    }

    private static void ValidateTuningInput(DataSource? input, ValidationContext context, ValidationResult result)
    {
        const string Path = "tuning.input";
        if (input is null)
        {
            result.Error(Path, "Input must be specified for tuning");
            return;
        }

        var given = (input.Urls is { Count: > 0 } ? 1 : 0) + (input.Image is { Length: > 0 } ? 1 : 0) + (input.VolumeSource is not null ? 1 : 0);
        if (given != 1)
        {
            result.Error(Path, "Exactly one of URLs, Image or VolumeSource must be specified");
        }

        var policy = new Networking.OutboundPolicy(context.AllowedDataOrigins);
        for (var i = 0; i < (input.Urls?.Count ?? 0); i++)
        {
            if ((Uri.TryCreate(input.Urls![i], UriKind.Absolute, out var uri) ? policy.Problem(uri) : DataSourceUrls.Problem(input.Urls[i])) is { } problem)
            {
                result.Error($"{Path}.urls[{i}]", problem);
            }
        }

        if (input.Image is { Length: > 0 } image)
        {
            CheckImage(image, $"{Path}.image", result);
        }

        CheckVolume(input.VolumeSource, $"{Path}.volumeSource", result);

        if (input.Name is { } name && !KubernetesNames.IsDns1123Subdomain(name))
        {
            result.Error($"{Path}.name", $"'{name}' must be a DNS-1123 subdomain");
        }

        ValidateSecretNames(input.ImagePullSecrets, $"{Path}.imagePullSecrets", result);
    }

    private static void ValidateTuningOutput(DataDestination? output, ValidationResult result)
    {
        const string Path = "tuning.output";
        if (output is null)
        {
            result.Error(Path, "Output must be specified for tuning");
            return;
        }

        ValidateImageOrVolume(output.Image, output.VolumeSource is not null, Path, result);
        CheckVolume(output.VolumeSource, $"{Path}.volumeSource", result);
        if (output.Image is { Length: > 0 })
        {
            if (string.IsNullOrEmpty(output.ImagePushSecret))
            {
                result.Error($"{Path}.imagePushSecret", "imagePushSecret must be specified when output image is set");
            }
            else
            {
                CheckSecretName(output.ImagePushSecret, $"{Path}.imagePushSecret", result);
            }
        }
    }

    private static void ValidateTrainingConfig(string config, string? method, ValidationContext context, ValidationResult result)
    {
        const string Path = "tuning.config";
        if (!KubernetesNames.IsDns1123Subdomain(config))
        {
            result.Error(Path, $"'{config}' is not a valid ConfigMap name");
            return;
        }

        if (context.ConfigMaps is null)
        {
            return;
        }

        var data = context.ConfigMaps(config);
        if (data is null)
        {
            result.Error(Path, $"ConfigMap {config} specified in 'config' was not found in the workspace's namespace");
        }
        else if (!data.TryGetValue(TrainingConfigValidator.FileName, out var yaml))
        {
            result.Error(Path, $"ConfigMap {config} does not contain the key {TrainingConfigValidator.FileName}");
        }
        else
        {
            foreach (var problem in TrainingConfigValidator.Validate(yaml, method))
            {
                result.Error(Path, $"ConfigMap {config}: {problem}");
            }

            foreach (var note in TrainingConfigValidator.NotApplied(yaml))
            {
                result.Warning(Path, $"ConfigMap {config}: {note}");
            }
        }
    }

    private static void ValidateResource(Workspace workspace, ModelPreset? model, string runtime, ValidationContext context, ValidationResult result, bool creating)
    {
        var resource = workspace.Resource!;
        var instanceType = resource.InstanceType;
        if (!context.NodeAutoProvisioning)
        {
            if (!string.IsNullOrEmpty(instanceType))
            {
                result.Error("resource.instanceType", "instanceType must be empty when node auto-provisioning is disabled (BYO scenario)");
            }
            else if (creating && context.Nodes is { } nodes)
            {
                ValidateOwnNodes(workspace, model, nodes(), result);
            }

            return;
        }

        if (resource.Partition is not null && workspace.Tuning is null)
        {
            result.Error("resource.partition", "partition is only supported when node auto-provisioning is disabled (BYO scenario)");
        }

        if (string.IsNullOrEmpty(instanceType))
        {
            result.Error("resource.instanceType", "instanceType is required when node auto-provisioning is enabled");
            return;
        }

        var sku = context.Skus.Find(instanceType, context.Cloud);
        if (sku is null)
        {
            if (context.Cloud == "azure" && GpuSkuCatalog.IsToleratedAzureName(instanceType))
            {
                result.Warning("resource.instanceType", $"Unknown instance type {instanceType}: GPU count and memory cannot be checked");
                return;
            }

            result.Error("resource.instanceType",
                $"Unsupported instance type {instanceType}. Supported SKUs: {string.Join(", ", context.Skus.Names(context.Cloud))}");
            return;
        }

        if (model is null || model.CpuOnly)
        {
            return;
        }

        var bypass = workspace.Metadata.Annotations?.ContainsKey(Annotations.BypassResourceChecks) == true;
        var count = resource.Count ?? 1;
        if (workspace.Inference is not null && runtime == Runtimes.VLlm)
        {
            var estimate = NodeEstimator.Estimate(model, sku, InferenceConfigValidator.MaxModelLength(workspace, context));
            if (!estimate.Fits)
            {
                result.ResourceError("resource.instanceType", estimate.Problem!, bypass);
            }

            return;
        }

        var total = count * sku.GpuMemoryGiB;
        if (total < model.WeightsGiB)
        {
            result.ResourceError("resource.instanceType",
                $"Insufficient total GPU memory: Instance type {instanceType} has a total of {Gi(total)}, but preset {model.Name} requires at least {Gi(model.WeightsGiB)}",
                bypass);
        }
        else if (workspace.Inference is not null && sku.GpuMemoryGiB < model.WeightsGiB)
        {
            result.ResourceError("resource.count", "Multi-node distributed inference is not supported with Huggingface Transformers runtime", bypass);
        }
    }

    /// <summary>
    /// KAITO's checks of bring-your-own nodes on create (api/v1beta1/workspace_validation.go): the selector picks at least
    /// one node; for a GPU preset, every picked node carries GPU Feature Discovery's labels, all alike, and together they
    /// hold the weights (the bypass annotation turns that last one into a warning).
    /// </summary>
    private static void ValidateOwnNodes(Workspace workspace, ModelPreset? model, IReadOnlyList<NodeLabels> nodes, ValidationResult result)
    {
        var selected = nodes.Where(n => WorkspaceNodes.Selects(workspace, n.Labels)).ToList();
        if (selected.Count == 0)
        {
            result.Error("resource.labelSelector", "No nodes found matching the specified label selector");
            return;
        }

        if (model is null || model.CpuOnly)
        {
            return;
        }

        var gpus = WorkspaceNodes.UniformGpus(selected, out var problem);
        if (gpus is null)
        {
            result.Error("resource.labelSelector", problem!);
            return;
        }

        var total = selected.Count * gpus.GpuMemoryGiB;
        if (total < model.WeightsGiB)
        {
            result.ResourceError("resource.labelSelector",
                $"Insufficient total GPU memory: the {selected.Count} selected node(s) have a total of {Gi(total)}, but preset {model.Name} requires at least {Gi(model.WeightsGiB)}",
                workspace.Metadata.Annotations?.ContainsKey(Annotations.BypassResourceChecks) == true);
        }
    }

    private static ModelPreset? ResolvePreset(PresetSpec preset, string path, string purpose, ValidationContext context, ValidationResult result)
    {
        if (string.IsNullOrWhiteSpace(preset.Name))
        {
            result.Error($"{path}.name", "Preset name is required");
            return null;
        }

        if (!context.Models.TryResolve(preset.Name, out var model))
        {
            result.Error($"{path}.name", preset.Name.Contains('/', StringComparison.Ordinal)
                ? $"Unsupported {purpose} preset name {preset.Name}: models are resolved from the preset catalog, which does not list it"
                : $"Unsupported {purpose} preset name {preset.Name}");
            return null;
        }

        if (model.Deprecated)
        {
            result.Error($"{path}.name", $"Model {preset.Name} is deprecated and no longer supported");
            return null;
        }

        return model;
    }

    private static void ValidateImageOrVolume(string? image, bool hasVolume, string path, ValidationResult result)
    {
        var hasImage = !string.IsNullOrEmpty(image);
        if (hasImage == hasVolume)
        {
            result.Error(path, "Exactly one of Image or VolumeSource must be specified");
        }

        if (hasImage)
        {
            CheckImage(image!, $"{path}.image", result);
        }
    }

    private static void CheckVolume(System.Text.Json.Nodes.JsonObject? source, string path, ValidationResult result)
    {
        if (VolumeSources.Problem(source) is { } problem)
        {
            result.Error(path, problem);
        }
    }

    private static void CheckImage(string image, string path, ValidationResult result)
    {
        if (ImageReferences.Problem(image) is { } problem)
        {
            result.Error(path, problem);
        }
        else if (ImageReferences.Warning(image) is { } warning)
        {
            result.Warning(path, warning);
        }
    }

    // Secrets are references to objects that may be created later; a name no Secret can have is a warning, because the
    // brief's quick start applies with the placeholder ACR_REGISTRY_SECRET_HERE and must be accepted as written.
    private static void ValidateSecretNames(IList<string>? secrets, string path, ValidationResult result)
    {
        for (var i = 0; i < (secrets?.Count ?? 0); i++)
        {
            CheckSecretName(secrets![i], $"{path}[{i}]", result);
        }
    }

    private static void CheckSecretName(string name, string path, ValidationResult result)
    {
        if (!KubernetesNames.IsDns1123Subdomain(name))
        {
            result.Warning(path, $"'{name}' is not a valid Secret name, so no such Secret can exist; the workload will wait for it");
        }
    }

    private static string? LabelProblem(string key, string value)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0 && !KubernetesNames.IsDns1123Subdomain(key[..slash]))
        {
            return $"label key '{key}' has an invalid prefix";
        }

        if (!LabelValuePattern().IsMatch(name) || name.Length > 63)
        {
            return $"label key '{key}' is not a valid label name";
        }

        return value.Length > 63 || (value.Length > 0 && !LabelValuePattern().IsMatch(value))
            ? $"label value '{value}' is not valid: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
            : null;
    }

    private static string Gi(double value) => string.Create(CultureInfo.InvariantCulture, $"{value:0.##}Gi");

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex LabelValuePattern();

    private static bool SameSpecification(Workspace a, Workspace b) =>
        Json(a.Resource) == Json(b.Resource) && Json(a.Inference) == Json(b.Inference) && Json(a.Tuning) == Json(b.Tuning) &&
        Json(UserAnnotations(a)) == Json(UserAnnotations(b)) && a.Metadata.Name == b.Metadata.Name;

    // The kaito.sh/ annotations change behaviour; the controller's own (workspace.kaito.io/revision, hash) do not.
    private static SortedDictionary<string, string> UserAnnotations(Workspace workspace) =>
        new((workspace.Metadata.Annotations ?? new Dictionary<string, string>())
            .Where(a => a.Key.StartsWith("kaito.sh/", StringComparison.Ordinal))
            .ToDictionary(), StringComparer.Ordinal);

    internal static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);
}
