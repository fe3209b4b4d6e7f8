using System.Text.Json.Nodes;
using Kaito.Api.Nodes;
using Kaito.Api.Validation;
using Kaito.Api.Workspaces;
using Kaito.Testing;
using k8s.Models;
using static Kaito.Api.Tests.WorkspaceBuilders;

namespace Kaito.Api.Tests;

public sealed class WorkspaceValidatorTests
{
    private sealed record Case(Func<Workspace> New, string Path, string Message, Func<Workspace>? Old = null, ValidationContext? Context = null);

    private static readonly ValidationContext s_byo = new() { NodeAutoProvisioning = false };

    private static ValidationContext OwnNodes(params NodeLabels[] nodes) => new() { NodeAutoProvisioning = false, Nodes = () => nodes };

    /// <summary>A node labelled for the example's selector and, with a product, as GPU Feature Discovery labels it.</summary>
    private static NodeLabels GpuNode(string name, string? product = "NVIDIA-A100-80GB-PCIe", string count = "1", string memoryMiB = "81920", string app = "phi-4-mini")
    {
        var labels = new Dictionary<string, string> { ["apps"] = app };
        if (product is not null)
        {
            labels["nvidia.com/gpu.product"] = product;
            labels["nvidia.com/gpu.count"] = count;
            labels["nvidia.com/gpu.memory"] = memoryMiB;
        }

        return new NodeLabels(name, labels);
    }

    private static Workspace Byo(Action<Workspace>? change = null) => Inference(w => { w.Resource!.InstanceType = null; change?.Invoke(w); });

    private static readonly Dictionary<string, Case> s_rejected = new()
    {
        ["name is not a DNS label"] = new(() => Inference(w => w.Metadata.Name = "Workspace_1"), "metadata.name", "'Workspace_1' must be a DNS-1123 label"),
        ["neither inference nor tuning"] = new(() => Inference(w => w.Inference = null), "", "Either Inference or Tuning must be specified, not neither"),
        ["both inference and tuning"] = new(() => Inference(w => w.Tuning = Tuning().Tuning), "", "Either Inference or Tuning must be specified, but not both"),
        ["no instance type with auto-provisioning"] = new(() => Inference(w => w.Resource!.InstanceType = null), "resource.instanceType", "instanceType is required when node auto-provisioning is enabled"),
        ["instance type with bring-your-own nodes"] = new(() => Inference(), "resource.instanceType", "instanceType must be empty when node auto-provisioning is disabled (BYO scenario)", Context: s_byo),
        ["unknown instance type"] = new(() => Inference(w => w.Resource!.InstanceType = "Standard_E4s_v5"), "resource.instanceType", "Unsupported instance type Standard_E4s_v5. Supported SKUs: Standard_NV36ads_A10_v5, "),
        ["AWS instance type on Azure"] = new(() => Inference(w => w.Resource!.InstanceType = "p5.48xlarge"), "resource.instanceType", "Unsupported instance type p5.48xlarge."),
        ["partition with auto-provisioning"] = new(() => Inference(w => w.Resource!.Partition = new PartitionSpec { Mode = "mig", Profile = "1g.10gb" }), "resource.partition", "partition is only supported when node auto-provisioning is disabled (BYO scenario)"),
        ["no label selector"] = new(() => Inference(w => w.Resource!.LabelSelector = null), "resource.labelSelector", "labelSelector is required"),
        ["only reserved labels"] = new(() => Inference(w => w.Resource!.LabelSelector = Selector(("kaito.sh/workspace", "x"), ("karpenter.kaito.sh/workspace", "y"))), "resource.labelSelector.matchLabels", "matchLabels must contain at least one non-reserved label"),
        ["NotIn expression"] = new(() => Inference(w => w.Resource!.LabelSelector!.MatchExpressions = [new V1LabelSelectorRequirement { Key = "app", OperatorProperty = "NotIn", Values = ["a"] }]), "resource.labelSelector.matchExpressions[0]", "only In expressions with exactly one value are supported"),
        ["invalid label value"] = new(() => Inference(w => w.Resource!.LabelSelector = Selector(("app", "has spaces"))), "resource.labelSelector.matchLabels[app]", "label value 'has spaces' is not valid"),
        ["neither preset nor template"] = new(() => Inference(w => w.Inference!.Preset = null), "inference", "Preset or Template must be specified"),
        ["preset and template"] = new(() => Inference(w => w.Inference!.Template = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c" }) } }), "inference", "Preset and Template cannot be set at the same time"),
        ["template without containers"] = new(() => Inference(w => { w.Inference!.Preset = null; w.Inference.Template = new JsonObject { ["spec"] = new JsonObject() }; }), "inference.template.spec.containers", "a pod template needs at least one container"),
        ["unknown inference preset"] = new(() => Inference(w => w.Inference!.Preset!.Name = "phi-9"), "inference.preset.name", "Unsupported inference preset name phi-9"),
        ["unknown HF id"] = new(() => Inference(w => w.Inference!.Preset!.Name = "someone/some-model"), "inference.preset.name", "Unsupported inference preset name someone/some-model: models are resolved from the preset catalog"),
        ["deprecated model"] = new(() => Transformers(w => w.Inference!.Preset!.Name = "phi-2"), "inference.preset.name", "Model phi-2 is deprecated and no longer supported"),
        ["transformers cannot serve the model"] = new(() => Transformers(w => w.Inference!.Preset!.Name = "phi-4-mini-instruct"), "inference.preset.name", "model phi-4-mini-instruct does not support inference with Huggingface Transformers runtime"),
        ["gated model without access secret"] = new(() => Inference(w => w.Inference!.Preset!.Name = "llama-3.1-8b-instruct"), "inference.preset.presetOptions.modelAccessSecret", "model llama-3.1-8b-instruct is gated"),
        ["private access without image"] = new(() => Inference(w => w.Inference!.Preset!.AccessMode = "private"), "inference.preset.presetOptions.image", "When AccessMode is private, an image must be provided in PresetOptions"),
        ["bad runtime annotation"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/runtime"] = "tgi" }), "metadata.annotations[kaito.sh/runtime]", "invalid value 'tgi': must be one of vllm, transformers"),
        ["bad node image family"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/node-image-family"] = "windows" }), "metadata.annotations[kaito.sh/node-image-family]", "invalid value 'windows': must be one of ubuntu, azurelinux"),
        ["bad performance mode"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/performance-mode"] = "turbo" }), "metadata.annotations[kaito.sh/performance-mode]", "invalid value 'turbo'"),
        ["bad model weights claim"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/model-weights-claim"] = "Weights_PVC" }), "metadata.annotations[kaito.sh/model-weights-claim]", "'Weights_PVC' is not a PersistentVolumeClaim name"),
        ["bad use-local-weights"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/use-local-weights"] = "yes" }), "metadata.annotations[kaito.sh/use-local-weights]", "invalid value 'yes'"),
        ["eleven adapters"] = new(() => Inference(w => w.Inference!.Adapters = Enumerable.Range(0, 11).Select(i => ImageAdapter($"a{i}")).ToList()), "inference.adapters", "Number of Adapters exceeds the maximum limit, maximum of 10 allowed"),
        ["duplicate adapter names"] = new(() => Inference(w => w.Inference!.Adapters = [ImageAdapter("same"), ImageAdapter("same")]), "inference.adapters[1].source.name", "Duplicate adapter source name found: same"),
        ["adapter without source"] = new(() => Inference(w => w.Inference!.Adapters = [new AdapterSpec()]), "inference.adapters[0].source", "source is required"),
        ["adapter from URLs (checked on create too)"] = new(() => Inference(w => w.Inference!.Adapters = [new AdapterSpec { Source = new DataSource { Name = "a", Urls = ["https://example.com/a"] } }]), "inference.adapters[0].source.urls", "URLs are not supported as adapter source"),
        ["adapter with image and volume"] = new(() => Inference(w => w.Inference!.Adapters = [new AdapterSpec { Source = new DataSource { Name = "a", Image = "r.io/a:1", VolumeSource = PvcVolume("c") } }]), "inference.adapters[0].source", "Exactly one of Image or VolumeSource must be specified"),
        ["adapter name not a DNS subdomain"] = new(() => Inference(w => w.Inference!.Adapters = [ImageAdapter("My_Adapter")]), "inference.adapters[0].source.name", "'My_Adapter' must be a DNS-1123 subdomain"),
        ["adapter strength on vLLM"] = new(() => Inference(w => w.Inference!.Adapters = [ImageAdapter("a", "0.5")]), "inference.adapters[0].strength", "vLLM does not support adapter strength"),
        ["adapter strength out of range"] = new(() => Transformers(w => w.Inference!.Adapters = [ImageAdapter("a", "1.5")]), "inference.adapters[0].strength", "Invalid strength value '1.5' for adapter a: must be a decimal between 0 and 1"),
        ["model too big for one node on transformers"] = new(() => Transformers(w => { w.Inference!.Preset!.Name = "phi-4"; w.Resource!.InstanceType = "Standard_NV36ads_A10_v5"; w.Resource.Count = 2; }), "resource.count", "Multi-node distributed inference is not supported with Huggingface Transformers runtime"),
        ["too little GPU memory on transformers"] = new(() => Transformers(w => { w.Inference!.Preset!.Name = "phi-4"; w.Resource!.InstanceType = "Standard_NV36ads_A10_v5"; }), "resource.instanceType", "Insufficient total GPU memory: Instance type Standard_NV36ads_A10_v5 has a total of 24Gi, but preset phi-4 requires at least 27.31Gi"),
        ["GPU too small for the KV cache on vLLM"] = new(() => Inference(w => { w.Resource!.InstanceType = "Standard_NV12s_v3"; w.Inference!.Config = "long"; }), "resource.instanceType", "GPU memory of Standard_NV12s_v3 (8 GiB per GPU, 6.72 GiB usable) is too small for phi-4-mini-instruct",
            Context: new ValidationContext { ConfigMaps = _ => new Dictionary<string, string> { ["inference_config.yaml"] = "vllm:\n  max-model-len: 131072\n" } }),
        ["max-model-len beyond the model"] = new(() => Inference(w => w.Inference!.Config = "big-context"), "inference.config", "ConfigMap big-context: inference_config.yaml: vllm.max-model-len 262144 exceeds the context length of phi-4-mini-instruct (131072)",
            Context: new ValidationContext { ConfigMaps = n => n == "big-context" ? new Dictionary<string, string> { ["inference_config.yaml"] = "vllm:\n  max-model-len: 262144\n" } : null }),
        ["inference config map missing"] = new(() => Inference(w => w.Inference!.Config = "absent"), "inference.config", "ConfigMap absent specified in 'config' was not found in the workspace's namespace", Context: new ValidationContext { ConfigMaps = _ => null }),
        ["no tuning preset"] = new(() => Tuning(w => w.Tuning!.Preset = null), "tuning.preset", "Preset must be specified for tuning"),
        ["unknown tuning preset"] = new(() => Tuning(w => w.Tuning!.Preset!.Name = "phi-9"), "tuning.preset.name", "Unsupported tuning preset name phi-9"),
        ["model without tuning"] = new(() => Tuning(w => w.Tuning!.Preset!.Name = "llama-3.1-8b-instruct"), "tuning.preset.name", "Preset llama-3.1-8b-instruct does not support tuning"),
        ["unknown tuning method"] = new(() => Tuning(w => w.Tuning!.Method = "full"), "tuning.method", "Unsupported tuning method 'full': must be lora or qlora"),
        ["multi-node tuning"] = new(() => Tuning(w => w.Resource!.Count = 2), "resource.count", "Tuning does not currently support multinode configurations. Please set the node count to 1."),
        ["partition for tuning"] = new(() => Tuning(w => w.Resource!.Partition = new PartitionSpec { Mode = "mig" }), "resource.partition", "partition is not supported for tuning"),
        ["no tuning input"] = new(() => Tuning(w => w.Tuning!.Input = null), "tuning.input", "Input must be specified for tuning"),
        ["input with URLs and image"] = new(() => Tuning(w => w.Tuning!.Input!.Image = "r.io/data:1"), "tuning.input", "Exactly one of URLs, Image or VolumeSource must be specified"),
        ["input with nothing"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = []), "tuning.input", "Exactly one of URLs, Image or VolumeSource must be specified"),
        ["URL to localhost"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["http://localhost:8080/data.parquet"]), "tuning.input.urls[0]", "points at a local or metadata host (localhost)"),
        ["URL to a .localhost name"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["http://api.localhost/data.parquet"]), "tuning.input.urls[0]", "points at a local or metadata host"),
        ["URL to the metadata service"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["http://metadata.google.internal/computeMetadata"]), "tuning.input.urls[0]", "points at a local or metadata host"),
        ["URL to a link-local address"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["http://169.254.169.254/latest/meta-data"]), "tuning.input.urls[0]", "a link-local (cloud metadata) address (169.254.169.254)"),
        ["URL to a private address"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["https://10.0.0.7/data.csv"]), "tuning.input.urls[0]", "a private address (10.0.0.7)"),
        ["URL to IPv6 loopback"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["http://[::1]/data.csv"]), "tuning.input.urls[0]", "a loopback address (::1)"),
        ["hostPath tuning input"] = new(() => Tuning(w => { w.Tuning!.Input = new DataSource { VolumeSource = new JsonObject { ["hostPath"] = new JsonObject { ["path"] = "/" } } }; }), "tuning.input.volumeSource", "volume type hostPath is not allowed for workspaces: use one of persistentVolumeClaim, ephemeral, configMap, secret, emptyDir, csi, image"),
        ["nfs tuning output"] = new(() => Tuning(w => { w.Tuning!.Output = new DataDestination { VolumeSource = new JsonObject { ["nfs"] = new JsonObject { ["server"] = "n", ["path"] = "/x" } } }; }), "tuning.output.volumeSource", "volume type nfs is not allowed for workspaces"),
        ["hostPath adapter"] = new(() => Inference(w => w.Inference!.Adapters = [new AdapterSpec { Source = new DataSource { Name = "a", VolumeSource = new JsonObject { ["hostPath"] = new JsonObject { ["path"] = "/etc" } } } }]), "inference.adapters[0].source.volumeSource", "volume type hostPath is not allowed"),
        ["two volume types"] = new(() => Tuning(w => { w.Tuning!.Input = new DataSource { VolumeSource = new JsonObject { ["emptyDir"] = new JsonObject(), ["hostPath"] = new JsonObject { ["path"] = "/" } } }; }), "tuning.input.volumeSource", "a volume source must name one volume type, not 2 (emptyDir, hostPath)"),
        ["URL with another scheme"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["ftp://example.com/data.csv"]), "tuning.input.urls[0]", "must use http or https, not ftp"),
        ["relative URL"] = new(() => Tuning(w => w.Tuning!.Input!.Urls = ["data.csv"]), "tuning.input.urls[0]", "is not a valid absolute URL"),
        ["no tuning output"] = new(() => Tuning(w => w.Tuning!.Output = null), "tuning.output", "Output must be specified for tuning"),
        ["output image and volume"] = new(() => Tuning(w => w.Tuning!.Output!.VolumeSource = PvcVolume("c")), "tuning.output", "Exactly one of Image or VolumeSource must be specified"),
        ["output image without push secret"] = new(() => Tuning(w => w.Tuning!.Output!.ImagePushSecret = null), "tuning.output.imagePushSecret", "imagePushSecret must be specified when output image is set"),
        ["malformed output image"] = new(() => Tuning(w => w.Tuning!.Output!.Image = "registry.io/repo:tag with space"), "tuning.output.image", "is not a valid image reference"),
        ["training config map missing"] = new(() => Tuning(w => w.Tuning!.Config = "absent"), "tuning.config", "ConfigMap absent specified in 'config' was not found", Context: new ValidationContext { ConfigMaps = _ => null }),
        ["training config without the key"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "ConfigMap cm does not contain the key training_config.yaml", Context: ConfigMap("cm", "other.yaml", "x: 1")),
        ["qlora config without quantisation"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "ConfigMap cm: training_config.yaml: qlora needs QuantizationConfig with load_in_4bit", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  LoraConfig: {r: 8}\n")),
        ["lora config with quantisation"] = new(() => Tuning(w => { w.Tuning!.Config = "cm"; w.Tuning.Method = "lora"; }), "tuning.config", "lora trains full-precision weights", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true}\n")),
        ["both 4 and 8 bit"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "QuantizationConfig cannot set both load_in_4bit and load_in_8bit to true", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true, load_in_8bit: true}\n")),
        ["quantisation flag not a boolean"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "training_config.yaml line 3: QuantizationConfig.load_in_4bit must be a boolean", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig:\n    load_in_4bit: \"yes\"\n")),
        ["unknown training section"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "training_config.yaml line 3: unknown section Optimizer", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true}\n  Optimizer: {}\n")),
        ["training_config not a map"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "training_config.yaml line 1: training_config must be a map", Context: ConfigMap("cm", "training_config.yaml", "training_config: 5\n")),
        ["output_dir outside /mnt"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "TrainingArguments.output_dir '/mnt/../etc' must be a sub-directory of /mnt", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true}\n  TrainingArguments: {output_dir: /mnt/../etc}\n")),
        ["output_dir not a string"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "TrainingArguments.output_dir must be a string", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true}\n  TrainingArguments: {output_dir: 5}\n")),
        ["training config not YAML"] = new(() => Tuning(w => w.Tuning!.Config = "cm"), "tuning.config", "training_config.yaml line 3: invalid YAML: While parsing a node", Context: ConfigMap("cm", "training_config.yaml", "training_config:\n  - [\n")),
        // updates
        ["inference toggled off"] = new(() => Tuning(), "inference", "Inference field cannot be toggled once set", Old: () => Inference(w => w.Metadata.Name = "workspace-tuning-phi-3")),
        ["count changed"] = new(() => Transformers(w => w.Resource!.Count = 2), "resource.count", "field is immutable", Old: () => Transformers()),
        ["label selector changed"] = new(() => Inference(w => w.Resource!.LabelSelector = Selector(("apps", "other"))), "resource.labelSelector", "field is immutable", Old: () => Inference()),
        ["instance type changed"] = new(() => Inference(w => w.Resource!.InstanceType = "Standard_NC48ads_A100_v4"), "resource.instanceType", "field is immutable", Old: () => Inference()),
        ["inference preset changed"] = new(() => Inference(w => w.Inference!.Preset!.Name = "phi-4"), "inference.preset", "field is immutable", Old: () => Inference()),
        ["template unset"] = new(() => Inference(), "inference.template", "template cannot be set or unset after creation",
            Old: () => Inference(w => { w.Inference!.Preset = null; w.Inference.Template = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c" }) } }; })),
        ["BYO: the selector picks no node"] = new(() => Byo(), "resource.labelSelector", "No nodes found matching the specified label selector", Context: OwnNodes(GpuNode("n1", app: "other"))),
        ["BYO: a node without GPU Feature Discovery labels"] = new(() => Byo(), "resource.labelSelector", "node n2 has no nvidia.com/gpu.product, nvidia.com/gpu.count, nvidia.com/gpu.memory labels", Context: OwnNodes(GpuNode("n1"), GpuNode("n2", product: null))),
        ["BYO: an unreadable GPU count"] = new(() => Byo(), "resource.labelSelector", "node n1: nvidia.com/gpu.count=two is not a positive whole number", Context: OwnNodes(GpuNode("n1", count: "two"))),
        ["BYO: nodes with different GPUs"] = new(() => Byo(), "resource.labelSelector", "the selected nodes have different GPUs: n1 has 1× NVIDIA-A100-80GB-PCIe (80 GiB each), n2 has 2× NVIDIA-A100-80GB-PCIe (80 GiB each)", Context: OwnNodes(GpuNode("n1"), GpuNode("n2", count: "2"))),
        ["BYO: too little GPU memory"] = new(() => Byo(w => w.Inference!.Preset!.Name = "phi-4"), "resource.labelSelector", "Insufficient total GPU memory: the 1 selected node(s) have a total of 16Gi, but preset phi-4 requires at least", Context: OwnNodes(GpuNode("n1", memoryMiB: "16384"))),
        ["tuning method changed"] = new(() => Tuning(w => w.Tuning!.Method = "lora"), "tuning.method", "field is immutable", Old: () => Tuning()),
        ["tuning input name changed"] = new(() => Tuning(w => w.Tuning!.Input!.Name = "other"), "tuning.input.name", "field is immutable", Old: () => Tuning(w => w.Tuning!.Input!.Name = "dolly")),
        ["model streaming annotation changed"] = new(() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/model-streaming"] = "true" }), "metadata.annotations[kaito.sh/model-streaming]", "field is immutable", Old: () => Inference()),
    };

    private static readonly Dictionary<string, (Func<Workspace> New, Func<Workspace>? Old, ValidationContext? Context, string? Warning)> s_accepted = new()
    {
        ["the phi-4-mini inference example"] = (() => Inference(), null, null, null),
        ["the brief's quick start (with placeholder warnings)"] = (() => Tuning(), null, null, "tuning.output.image"),
        ["a tolerated unknown Azure GPU SKU (with a warning)"] = (() => Inference(w => w.Resource!.InstanceType = "Standard_NC999ads_Z100_v9"), null, null, "resource.instanceType"),
        ["too little memory with the bypass annotation (a warning)"] = (() => Transformers(w => { w.Inference!.Preset!.Name = "phi-4"; w.Resource!.InstanceType = "Standard_NV36ads_A10_v5"; w.Metadata.Annotations!["kaito.sh/bypass-resource-checks"] = ""; }), null, null, "resource.instanceType"),
        ["a model bigger than one GPU on vLLM (the estimator adds nodes)"] = (() => Inference(w => { w.Inference!.Preset!.Name = "phi-4"; w.Resource!.InstanceType = "Standard_NV36ads_A10_v5"; }), null, null, null),
        ["bring-your-own nodes without an instance type"] = (() => Inference(w => w.Resource!.InstanceType = null), null, s_byo, null),
        ["BYO: uniform labelled nodes the selector picks (others ignored)"] = (() => Byo(), null, OwnNodes(GpuNode("n1"), GpuNode("n2"), GpuNode("x", product: null, app: "other")), null),
        ["BYO: too little GPU memory with the bypass annotation (a warning)"] = (() => Byo(w => { w.Inference!.Preset!.Name = "phi-4"; w.Metadata.Annotations = new Dictionary<string, string> { ["kaito.sh/bypass-resource-checks"] = "" }; }), null, OwnNodes(GpuNode("n1", memoryMiB: "16384")), "resource.labelSelector"),
        ["BYO: a CPU preset needs no GPU labels"] = (() => Byo(w => w.Inference!.Preset!.Name = "kaito-tiny"), null, OwnNodes(GpuNode("n1", product: null)), null),
        ["BYO: nodes are not checked again on update"] = (() => Byo(w => w.Inference!.Adapters = [ImageAdapter("new")]), () => Byo(), OwnNodes(), null),
        ["a partition with bring-your-own nodes"] = (() => Inference(w => { w.Resource!.InstanceType = null; w.Resource.Partition = new PartitionSpec { Mode = "mig", Profile = "1g.10gb" }; }), null, s_byo, null),
        ["reserved labels next to a user label"] = (() => Inference(w => w.Resource!.LabelSelector = Selector(("kaito.sh/workspace", "x"), ("apps", "y"))), null, null, null),
        ["an In expression with one value"] = (() => Inference(w => w.Resource!.LabelSelector = new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "apps", OperatorProperty = "In", Values = ["y"] }] }), null, null, null),
        ["a preset by HF id"] = (() => Inference(w => w.Inference!.Preset!.Name = "microsoft/Phi-4-mini-instruct"), null, null, null),
        ["a gated model with an access secret"] = (() => Inference(w => { w.Inference!.Preset!.Name = "llama-3.1-8b-instruct"; w.Inference.Preset.PresetOptions = new PresetOptions { ModelAccessSecret = "hf-token" }; }), null, null, null),
        ["a custom pod template"] = (() => Inference(w => { w.Inference!.Preset = null; w.Inference.Template = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "r.io/c:1" }) } }; }), null, null, null),
        ["ten adapters from images and volumes"] = (() => Inference(w => w.Inference!.Adapters = Enumerable.Range(0, 9).Select(i => ImageAdapter($"a{i}")).Append(new AdapterSpec { Source = new DataSource { Name = "vol", VolumeSource = PvcVolume("c") } }).ToList()), null, null, null),
        ["adapter strength on transformers"] = (() => Transformers(w => w.Inference!.Adapters = [ImageAdapter("a", "0.25")]), null, null, null),
        ["max-model-len within the model"] = (() => Inference(w => w.Inference!.Config = "cfg"), null, new ValidationContext { ConfigMaps = _ => new Dictionary<string, string> { ["inference_config.yaml"] = "vllm:\n  max-model-len: 4096\n" } }, null),
        ["lora with the default template"] = (() => Tuning(w => w.Tuning!.Method = "LoRA"), null, null, "tuning.output.image"),
        ["qlora with a valid config map"] = (() => Tuning(w => w.Tuning!.Config = "cm"), null, ConfigMap("cm", "training_config.yaml", "training_config:\n  QuantizationConfig: {load_in_4bit: true}\n  TrainingArguments: {output_dir: /mnt/results/run-1}\n"), "tuning.output.image"),
        ["tuning from a volume to a volume"] = (() => Tuning(w => { w.Tuning!.Input = new DataSource { VolumeSource = PvcVolume("data") }; w.Tuning.Output = new DataDestination { VolumeSource = PvcVolume("out") }; }), null, null, null),
        ["tuning from a public IP URL"] = (() => Tuning(w => w.Tuning!.Input!.Urls = ["https://20.1.2.3/data.jsonl"]), null, null, "tuning.output.image"),
        // updates
        ["adapters changed on update"] = (() => Inference(w => w.Inference!.Adapters = [ImageAdapter("new")]), () => Inference(w => w.Inference!.Adapters = [ImageAdapter("old")]), null, null),
        ["tuning output image changed on update"] = (() => Tuning(w => w.Tuning!.Output!.Image = "registry.example.com/adapter:0.0.2"), () => Tuning(), null, "tuning.output.imagePushSecret"),
        ["controller annotations on an unchanged spec"] = (() => Inference(w => w.Metadata.Annotations = new Dictionary<string, string> { ["workspace.kaito.io/revision"] = "1" }), () => Inference(), null, null),
        ["an object being deleted"] = (() => Inference(w => { w.Metadata.DeletionTimestamp = DateTime.UtcNow; w.Resource!.InstanceType = "changed"; }), () => Inference(), null, null),
        ["bring-your-own clearing a defaulted instance type"] = (() => Inference(w => w.Resource!.InstanceType = null), () => Inference(), s_byo, null),
    };

    public static TheoryData<string> Rejected() => new(s_rejected.Keys);

    public static TheoryData<string> Accepted() => new(s_accepted.Keys);

    [Theory]
    [MemberData(nameof(Rejected))]
    public void RejectsWithKaitosMessageAtTheField(string rule)
    {
        var (build, path, message, old, context) = s_rejected[rule];

        var result = WorkspaceValidator.Validate(build(), old?.Invoke(), context);

        Assert.False(result.IsValid, $"{rule}: accepted");
        Assert.True(result.Errors.Any(e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal)), result.Message);
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Accepts(string rule)
    {
        var (build, old, context, warning) = s_accepted[rule];

        var result = WorkspaceValidator.Validate(build(), old?.Invoke(), context);

        Assert.True(result.IsValid, $"{rule}: {result.Message}");
        if (warning is null)
        {
            Assert.Empty(result.Warnings);
        }
        else
        {
            Assert.Contains(result.Warnings, w => w.Path == warning);
        }
    }

    [Fact]
    public void EveryErrorIsInTheDenialMessage()
    {
        var result = WorkspaceValidator.Validate(Tuning(w => { w.Tuning!.Method = "full"; w.Tuning.Output = null; }));

        Assert.Equal(2, result.Errors.Count);
        Assert.Equal("tuning.method: Unsupported tuning method 'full': must be lora or qlora; tuning.output: Output must be specified for tuning", result.Message);
    }

    [Theory]
    [InlineData("training-config-lora.yaml", "lora")]
    [InlineData("training-config-qlora.yaml", "qlora")]
    public void TheDefaultTrainingTemplatesAreValidForTheirMethod(string template, string method)
    {
        var yaml = File.ReadAllText(Repository.PathOf("Kaito.Api", "Data", template));

        Assert.Empty(TrainingConfigValidator.Validate(yaml, method));
        Assert.NotEmpty(TrainingConfigValidator.Validate(yaml, method == "lora" ? "qlora" : "lora"));
    }

    private static ValidationContext ConfigMap(string name, string key, string value) =>
        new() { ConfigMaps = n => n == name ? new Dictionary<string, string> { [key] = value } : null };
}

public sealed class TrainingConfigNotAppliedTests
{
    [Fact]
    public void KaitosQloraTemplateSaysWhatTheTunerDoesInstead()
    {
        var notes = TrainingConfigValidator.NotApplied(File.ReadAllText(Repository.PathOf("Kaito.Api", "Data", "training-config-qlora.yaml")));

        Assert.Equal(
        [
            "training_config.yaml line 3: ModelConfig.torch_dtype bfloat16 is not applied: the base weights are held in F32 (NF4 with QLoRA)",
            "training_config.yaml line 10: QuantizationConfig.bnb_4bit_compute_dtype bfloat16 is not applied: NF4 weights are dequantised to F32 for compute",
            "training_config.yaml line 21: TrainingArguments.save_strategy no is not applied: a checkpoint is written every save_steps, so a restarted job resumes where it was",
            "training_config.yaml line 25: DataCollator.mlm is not applied: the loss is causal language modelling, sequences padded to the longest in the batch",
        ], notes);
    }

    [Fact]
    public void MixedPrecisionAnotherOptimiserAndCheckpointingAreNamedAndAdmissionWarnsWithThem()
    {
        const string Yaml = "training_config:\n  TrainingArguments:\n    output_dir: /mnt/results\n    bf16: true\n    fp16: false\n    optim: paged_adamw_8bit\n    gradient_checkpointing: true\n    save_strategy: steps\n";
        var workspace = WorkspaceBuilders.Tuning(w => { w.Tuning!.Config = "cm"; w.Tuning.Method = "lora"; });

        var notes = TrainingConfigValidator.NotApplied(Yaml);
        var result = WorkspaceValidator.Validate(workspace, null, new ValidationContext { ConfigMaps = _ => new Dictionary<string, string> { ["training_config.yaml"] = Yaml } });

        Assert.Equal(["TrainingArguments.bf16", "TrainingArguments.optim", "TrainingArguments.gradient_checkpointing"],
            notes.Select(n => n.Split(": ")[1].Split(' ')[0]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(3, result.Warnings.Count(w => w.Path == "tuning.config" && w.Message.Contains("is not applied", StringComparison.Ordinal)));
    }
}
