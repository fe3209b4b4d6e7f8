namespace Kaito.Models.Tiny;

/// <summary>The text the tiny model's tokenizer learns its merges from (English and Tagalog about KAITO).</summary>
public static class TinyCorpus
{
    public const string Text = """
        The Kubernetes AI toolchain operator runs large language models on Kubernetes. A user applies a workspace,
        the controller provisions GPU nodes, and the inference server answers questions over HTTP. The tuning job
        fine-tunes a model with LoRA or QLoRA and pushes the adapter to a container registry as an image.
        What is Kubernetes? Kubernetes is an open-source system for automating deployment, scaling, and management
        of containerized applications. It groups containers that make up an application into logical units for easy
        management and discovery. The scheduler places pods on nodes that have the resources they request.
        A node is a worker machine. A pod is the smallest deployable unit. A service exposes pods on the network.
        Ang workspace ay nagtatakda ng modelo, ang bilang ng mga node, at ang uri ng instance. Ang operator ay
        naglalaan ng mga GPU node at nagpapatakbo ng inference server. Maaaring i-fine-tune ang modelo gamit ang
        LoRA o QLoRA, at itulak ang adapter sa isang container registry bilang isang imahe.
        Tell me a joke. Why did the pod restart? Because it ran out of memory and the kubelet killed it.
        Hello! How can I help you today? Please summarise the following text in one sentence.
        The quick brown fox jumps over the lazy dog. 0123456789 + - * / = < > ( ) [ ] { } " ' , . ; : ? !
        def main(): print("hello world") return 0. kubectl apply -f workspace.yaml; kubectl get workspace.
        """;
}
