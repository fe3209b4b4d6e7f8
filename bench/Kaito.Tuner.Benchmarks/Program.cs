using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Tiny;
using Kaito.Testing;

// Usage: dotnet run -c Release --project bench/Kaito.Tuner.Benchmarks [-- --model <hf-dir>] [--steps <n>]
// Runs the real tuner (a process) on a generated chat dataset for a few batch sizes and prints step time and
// training tokens/s, with each row's ratio to batch 1 measured in the same run.
string? model = null;
var steps = 60;
for (var i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--model": model = args[i + 1]; break;
        case "--steps": steps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: throw new ArgumentException($"unknown option {args[i]}");
    }
}

var root = Directory.CreateTempSubdirectory("kaito-tuner-bench-").FullName;
try
{
    model ??= TinyModel.Generate(root).HuggingFace;
    var data = Path.Combine(root, "data");
    Directory.CreateDirectory(data);
    var random = new Random(7);
    string[] topics = ["pods", "nodes", "services", "jobs", "leases", "secrets", "volumes", "workspaces"];
    await File.WriteAllLinesAsync(Path.Combine(data, "train.jsonl"), Enumerable.Range(0, 256).Select(_ => topics[random.Next(topics.Length)])
        .Select(t => new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = $"Explain {t} in one sentence, please." },
                new JsonObject { ["role"] = "assistant", ["content"] = $"In Kubernetes, {t} are objects the control plane keeps in the state you declared." }),
        }.ToJsonString()));

    Console.WriteLine($"Tuner benchmark: {model}, {steps} LoRA steps (r 8 on q/k/v/o), {Environment.ProcessorCount} cores");
    Console.WriteLine($"{"batch",6} {"s/step",10} {"tokens/s",10} {"first loss",11} {"final loss",11} {"× batch 1",10}");
    double? baseline = null;
    foreach (var batch in new[] { 1, 4, 16 })
    {
        var config = Path.Combine(root, $"config-{batch}.yaml");
        await File.WriteAllTextAsync(config, $"""
            training_config:
              LoraConfig: {"{"}r: 8, lora_alpha: 16, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"]{"}"}
              TrainingArguments: {"{"}per_device_train_batch_size: {batch}, max_steps: {steps}, learning_rate: 0.005, logging_steps: 1000, save_steps: 100000{"}"}
            """);
        var output = Path.Combine(root, $"out-{batch}");
        await using var tuner = ServiceProcess.Start("Kaito.Tuner", root, ["--config", config, "--data", data, "--model", model, "--output", output],
            new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" });
        await Eventually.TrueAsync(() => tuner.HasExited, TimeSpan.FromMinutes(30));
        if (tuner.ExitCode != 0)
        {
            Console.WriteLine($"batch {batch}: the tuner failed (exit {tuner.ExitCode}):\n{tuner.FinalLog()}");
            return 1;
        }

        var summary = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "training_summary.json")))!;
        var tokens = summary["tokens_per_second"]!.GetValue<double>();
        baseline ??= tokens;
        Console.WriteLine($"{batch,6} {summary["seconds_per_step"]!.GetValue<double>(),10:0.0000} {tokens,10:0} " +
            $"{summary["first_loss"]!.GetValue<double>(),11:0.000} {summary["final_loss"]!.GetValue<double>(),11:0.000} {tokens / baseline,10:0.00}");
    }

    return 0;
}
finally
{
    Directory.Delete(root, recursive: true);
}
