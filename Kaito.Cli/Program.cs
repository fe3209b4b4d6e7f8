using System.CommandLine;
using Kaito.Cli;
using Kaito.Oci;

var output = new Option<string>("--output", "-o") { Description = "Output format: table, json or yaml", DefaultValueFactory = _ => "table", Recursive = true };
output.AcceptOnlyFromAmong(Output.Formats);

var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)", Recursive = true };
var context = new Option<string?>("--context") { Description = "The kubeconfig context to use", Recursive = true };
var ns = new Option<string?>("--namespace", "-n") { Description = "The namespace (default: the context's)", Recursive = true };
var root = new RootCommand("kubectl kaito — model images and workspaces of Kaito for .NET") { output, kubeconfig, context, ns };
ClusterOptions Cluster(ParseResult result) => new(result.GetValue(kubeconfig), result.GetValue(context), result.GetValue(ns));

var model = new Command("model", "Model images: package and push them, list the catalog");
root.Subcommands.Add(model);

var folder = new Argument<string>("hf-folder") { Description = "A Hugging Face model folder (config.json, tokenizer files, safetensors)" };
var image = new Argument<string?>("image-ref") { Description = "Where to push, e.g. localhost:5001/kaito-kaito-tiny:0.1.0 (or give --preset and --registry)", Arity = ArgumentArity.ZeroOrOne };
var pushPreset = new Option<string?>("--preset") { Description = "Push as this catalog preset's image: <registry>/kaito-<preset>:<its pinned tag>" };
var pushRegistry = new Option<string?>("--registry") { Description = "With --preset: the registry (and path) to push to, e.g. localhost:5001 or myacr.azurecr.io/kaito" };
var name = new Option<string?>("--name") { Description = "The model name the image is annotated with (default: the repository without kaito-)" };
var revision = new Option<string?>("--revision") { Description = "The model revision (e.g. the Hugging Face commit) the image is annotated with" };
var precision = new Option<string?>("--precision") { Description = "Also carry the ONNX export at this precision, so pods do not export at start" };
precision.AcceptOnlyFromAmong(ModelCommands.Precisions);
var insecure = new Option<bool>("--insecure") { Description = "Speak plain HTTP to the registry (loopback registries always do)" };
var dockerConfig = new Option<string?>("--docker-config") { Description = "Docker config with the registry's credentials (default: ~/.docker/config.json)" };
var push = new Command("push", "Package a Hugging Face folder as a model image and push it") { folder, image, pushPreset, pushRegistry, name, revision, precision, insecure, dockerConfig };
push.SetAction((result, cancellationToken) => Run(() => ModelCommands.PushAsync(result.GetValue(folder)!,
    ModelCommands.Target(result.GetValue(image), result.GetValue(pushPreset), result.GetValue(pushRegistry)), result.GetValue(name) ?? result.GetValue(pushPreset),
    result.GetValue(revision), result.GetValue(precision), result.GetValue(insecure), result.GetValue(dockerConfig), Console.Out, Console.Error, cancellationToken)));
model.Subcommands.Add(push);

var registry = new Option<string>("--registry") { Description = "The registry the images are named in", DefaultValueFactory = _ => "mcr.microsoft.com/aks/kaito" };
var list = new Command("list", "The model catalog: name, version, size, GPU memory, tuning support, image") { registry };
list.SetAction(result => Run(() => Task.FromResult(ModelCommands.List(result.GetValue(output)!, result.GetValue(registry)!, Console.Out))).GetAwaiter().GetResult());
model.Subcommands.Add(list);

var tinyFolder = new Argument<string>("folder") { Description = "Where to write the model (created)" };
var seed = new Option<int?>("--seed") { Description = "Another seed gives other random weights (default: the kaito-tiny preset's)" };
var tiny = new Command("tiny", "Write the generated kaito-tiny model (random weights, runs on CPU) as a Hugging Face folder") { tinyFolder, seed };
tiny.SetAction(result => Run(() => Task.FromResult(ModelCommands.WriteTiny(result.GetValue(tinyFolder)!, result.GetValue(seed), Console.Out))).GetAwaiter().GetResult());
model.Subcommands.Add(tiny);

var workspace = new Argument<string>("workspace") { Description = "The workspace's name" };
var prompt = new Option<string?>("--prompt", "-p") { Description = "Ask this and print the answer; without it, chat line by line" };
var system = new Option<string?>("--system") { Description = "A system message for the conversation" };
var maxTokens = new Option<int>("--max-tokens") { Description = "The longest answer, in tokens", DefaultValueFactory = _ => 256 };
var temperature = new Option<double?>("--temperature") { Description = "Sampling temperature (0: greedy); the server's default when not given" };
var chat = new Command("chat", "Chat with a workspace's model through the API server (streams the answer)") { workspace, prompt, system, maxTokens, temperature };
chat.SetAction((result, cancellationToken) => Run(() => WorkspaceCommands.ChatAsync(Cluster(result), result.GetValue(workspace)!, result.GetValue(prompt),
    result.GetValue(system), result.GetValue(maxTokens), result.GetValue(temperature), Console.In, Console.Out, Console.Error, cancellationToken)));
root.Subcommands.Add(chat);

var status = new Command("status", "Explain a workspace: conditions, pods, recent warnings and the cause when it is not ready") { workspace };
status.SetAction((result, cancellationToken) => Run(() => WorkspaceCommands.StatusAsync(Cluster(result), result.GetValue(workspace)!, result.GetValue(output)!, Console.Out, cancellationToken)));
root.Subcommands.Add(status);

return await root.Parse(args).InvokeAsync();

// Errors are one line on stderr and exit code 1, as kubectl's; usage errors are System.CommandLine's (exit code 1 too).
static async Task<int> Run(Func<Task<int>> command)
{
    try
    {
        return await command();
    }
    catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException or HttpRequestException
                                  or k8s.Autorest.HttpOperationException or k8s.Exceptions.KubeConfigException)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return 1;
    }
}
