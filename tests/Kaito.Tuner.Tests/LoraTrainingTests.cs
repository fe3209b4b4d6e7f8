using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Kaito.Models.Decoder;
using Kaito.Models.HuggingFace;
using Kaito.Models.Lora;
using Kaito.Models.Tokenizers;
using Kaito.Testing;

namespace Kaito.Tuner.Tests;

public sealed class LoraTrainingTests(TuningFixture fixture) : IClassFixture<TuningFixture>
{
    [Fact]
    public async Task LoraHalvesTheLossWritesAPeftAdapterAndTheServerServesWhatTheTunerDecodes()
    {
        var output = Path.Combine(fixture.Root, "out-lora");
        var (exit, log) = await TunerRun.RunAsync(fixture.Root,
            "--config", fixture.Config("lora", TuningFixture.LoraConfig(maxSteps: 40)), "--data", fixture.Data, "--model", fixture.Model, "--output", output);

        Assert.True(exit == 0, log);
        Assert.Contains("step 40/40", log, StringComparison.Ordinal);
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors", "fine_tuning_completed.txt", "training_summary.json" })
        {
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} missing");
        }

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "training_summary.json")))!;
        Assert.True((double)summary["final_loss"]! < (double)summary["first_loss"]! / 2, summary.ToJsonString());
        Assert.Empty(Directory.GetDirectories(output, "checkpoint-*"));

        // PEFT layout: names and shapes a PEFT/vLLM loader expects.
        var adapter = LoraAdapter.Load(output);
        Assert.Equal(8, adapter.Rank);
        Assert.Equal(16.0, adapter.Alpha);
        Assert.Contains("model.layers.0.self_attn.q_proj", adapter.Modules.Keys);
        Assert.Equal(8, adapter.Modules.Count);

        // The tuner's own decode before training is the base model's (LoRA B starts at zero) ...
        var probe = summary["probe"]!["prompt_ids"]!.AsArray().Select(t => (int)t!).ToArray();
        var before = summary["probe"]!["greedy_before"]!.AsArray().Select(t => (int)t!).ToList();
        var after = summary["probe"]!["greedy_after"]!.AsArray().Select(t => (int)t!).ToList();
        Assert.Equal(new ReferenceDecoder(DecoderWeights.Load(fixture.Model)).Greedy(probe, before.Count), before);

        // ... and after training equals the merged weights' reference decode and what the server serves for the adapter.
        var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(fixture.Model), adapter);
        Assert.Equal(new ReferenceDecoder(DecoderWeights.From(DecoderConfig.Load(fixture.Model), merged)).Greedy(probe, after.Count), after);
        Assert.Equal(after, await ServeAsync(output, probe, after.Count));
        Assert.Contains("run on Kubernetes", BpeTokenizer.Load(fixture.Model).Decode(after), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("qwen2", "model.layers.0.self_attn.q_proj")]
    [InlineData("phi3", "model.layers.0.self_attn.o_proj")]
    public async Task OtherLayoutsTrainWithKaitosDefaultTargetsAndServeWhatTheTunerDecodes(string architecture, string expectedModule)
    {
        var root = Path.Combine(fixture.Root, architecture);
        var (hf, _) = Kaito.Models.Tiny.TinyModel.Generate(root, architecture: architecture);
        var output = Path.Combine(root, "out");
        var config = TuningFixture.LoraConfig(maxSteps: 40).Replace("    target_modules: [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\"]\n", "", StringComparison.Ordinal);

        var (exit, log) = await TunerRun.RunAsync(root, "--config", fixture.Config($"layout-{architecture}", config), "--data", fixture.Data,
            "--model", hf, "--output", output);

        Assert.True(exit == 0, log);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "training_summary.json")))!;
        Assert.True((double)summary["final_loss"]! < (double)summary["first_loss"]! / 2, summary.ToJsonString());
        var adapter = LoraAdapter.Load(output);
        Assert.Contains(expectedModule, adapter.Modules.Keys);
        if (architecture == "phi3")
        {
            // KAITO's phi-3 targets, as PEFT applies them to Phi-3's fused layout: o_proj and down_proj, nothing fused.
            Assert.Equal(["k_proj", "q_proj", "v_proj", "o_proj", "gate_proj", "down_proj", "up_proj"], adapter.TargetModules);
            Assert.Equal(["down_proj", "o_proj"], adapter.Modules.Keys.Select(k => k[(k.LastIndexOf('.') + 1)..]).Distinct().Order(StringComparer.Ordinal));
            Assert.Contains("k_proj, q_proj, v_proj, gate_proj, up_proj match no module of this model", log, StringComparison.Ordinal);
        }

        var probe = summary["probe"]!["prompt_ids"]!.AsArray().Select(t => (int)t!).ToArray();
        var after = summary["probe"]!["greedy_after"]!.AsArray().Select(t => (int)t!).ToList();
        var merged = LoraMerge.Merge(DecoderWeights.ReadTensors(hf), adapter);
        Assert.Equal(new ReferenceDecoder(DecoderWeights.From(DecoderConfig.Load(hf), merged)).Greedy(probe, after.Count), after);
        Assert.Equal(after, await ServeAsync(output, probe, after.Count, root));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task QloraKeepsTheBaseInNf4AndStillHalvesTheLoss(bool doubleQuant)
    {
        var output = Path.Combine(fixture.Root, $"out-qlora-{doubleQuant}");
        var lora = TuningFixture.LoraConfig(maxSteps: 40);
        var line = lora.Split('\n').Single(l => l.Contains("load_in_4bit: false", StringComparison.Ordinal));
        var indent = line[..(line.Length - line.TrimStart().Length)];
        var config = lora.Replace(line, $"{indent}load_in_4bit: true\n{indent}bnb_4bit_quant_type: \"nf4\"\n{indent}bnb_4bit_use_double_quant: {(doubleQuant ? "true" : "false")}",
            StringComparison.Ordinal);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root,
            "--config", fixture.Config($"qlora-{doubleQuant}", config), "--data", fixture.Data, "--model", fixture.Model, "--output", output);

        Assert.True(exit == 0, log);
        Assert.Contains(doubleQuant ? "NF4 with 8-bit scales" : "NF4 (QLoRA)", log, StringComparison.Ordinal);
        // What Hugging Face's Trainer would have done with the config and the tuner does not is in the Job's log, by line.
        Assert.Contains("line 3: ModelConfig.torch_dtype bfloat16 is not applied", log, StringComparison.Ordinal);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "training_summary.json")))!;
        Assert.Equal("qlora", (string?)summary["method"]);
        Assert.True((double)summary["final_loss"]! < (double)summary["first_loss"]! / 2, summary.ToJsonString());
        var weights = DecoderWeights.Load(fixture.Model);
        var f32Bytes = weights.Layers.Sum(l => 4L * (l.Q.Length + l.K.Length + l.V.Length + l.O.Length + l.Gate.Length + l.Up.Length + l.Down.Length));
        // 4 bits per value plus one F32 scale per 64 values (4.5 / 32 of F32), or with double quantisation one 8-bit
        // scale per 64 values and one F32 factor per 256 scales (about 4.127 / 32).
        var bitsPerValue = doubleQuant ? 4 + (8.0 / 64) + (32.0 / (64 * 256)) : 4.5;
        Assert.Equal(f32Bytes * bitsPerValue / 32, (long)summary["base_projection_bytes"]!, tolerance: f32Bytes * 0.005);
        Assert.Equal(8, LoraAdapter.Load(output).Modules.Count);
    }

    [Fact]
    public async Task AKilledRunResumesFromItsLastCheckpointAndEndsAtTheConfiguredStep()
    {
        var output = Path.Combine(fixture.Root, "out-resume");
        var config = fixture.Config("resume", TuningFixture.LoraConfig(maxSteps: 300, saveSteps: 20, batch: 1));
        string[] arguments = ["--config", config, "--data", fixture.Data, "--model", fixture.Model, "--output", output];
        await KillAfterCheckpointsAsync(output, arguments, 1);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, arguments);

        Assert.True(exit == 0, log);
        Assert.Contains("Resuming from step", log, StringComparison.Ordinal);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "training_summary.json")))!;
        Assert.True((int)summary["resumed_from_step"]! >= 20);
        Assert.Equal(300, (int)summary["steps"]!);
        Assert.Equal(300, summary["losses"]!.AsArray().Count);
    }

    [Fact]
    public async Task ADamagedLatestCheckpointIsReportedAndTheRunResumesFromTheOneBefore()
    {
        var output = Path.Combine(fixture.Root, "out-damaged");
        var config = fixture.Config("damaged", TuningFixture.LoraConfig(maxSteps: 300, saveSteps: 20, batch: 1));
        string[] arguments = ["--config", config, "--data", fixture.Data, "--model", fixture.Model, "--output", output];
        await KillAfterCheckpointsAsync(output, arguments, 2);

        var checkpoints = Directory.GetDirectories(output, "checkpoint-*").Where(d => !d.EndsWith(".partial", StringComparison.Ordinal))
            .OrderByDescending(d => int.Parse(Path.GetFileName(d)["checkpoint-".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var optimizer = Directory.GetFiles(checkpoints[0], "*.safetensors").First(f => !f.EndsWith("adapter_model.safetensors", StringComparison.Ordinal));
        File.WriteAllBytes(optimizer, File.ReadAllBytes(optimizer)[..100]);

        var (exit, log) = await TunerRun.RunAsync(fixture.Root, arguments);

        Assert.True(exit == 0, log);
        Assert.Contains($"Checkpoint {checkpoints[0]} cannot be used", log, StringComparison.Ordinal);
        Assert.Contains($"Resuming from step {Path.GetFileName(checkpoints[1])["checkpoint-".Length..]} ({checkpoints[1]})", log, StringComparison.Ordinal);
        Assert.Equal(300, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(output, "training_summary.json")))!["steps"]!);
    }

    /// <summary>Runs the tuner until <paramref name="count"/> checkpoints are complete, then kills it as a node loss would.</summary>
    private async Task KillAfterCheckpointsAsync(string output, string[] arguments, int count)
    {
        await using var first = ServiceProcess.Start("Kaito.Tuner", fixture.Root, arguments);
        await Eventually.TrueAsync(() => first.HasExited || (Directory.Exists(output) && Directory.GetDirectories(output, "checkpoint-*")
            .Count(d => !d.EndsWith(".partial", StringComparison.Ordinal)) >= count), TimeSpan.FromMinutes(2));
        Assert.False(first.HasExited, $"the first run ended before it could be killed:\n{first.Log}");
        first.Kill();
    }

    private async Task<List<int>> ServeAsync(string adapterDirectory, int[] prompt, int tokens, string? modelRoot = null)
    {
        modelRoot ??= fixture.Root;
        var hf = Path.Combine(modelRoot, Kaito.Models.Tiny.TinyModel.HuggingFaceFolder);
        var adapters = Path.Combine(modelRoot, "serve-adapters");
        var target = Path.Combine(adapters, "tuned");
        Directory.CreateDirectory(target);
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors" })
        {
            File.Copy(Path.Combine(adapterDirectory, file), Path.Combine(target, file), overwrite: true);
        }

        var port = Ports.Free();
        await using var server = ServiceProcess.Start("Kaito.InferenceServer", fixture.Root,
        [
            "--model", Path.Combine(modelRoot, Kaito.Models.Tiny.TinyModel.OnnxFolder), "--base-weights", hf, "--adapters-dir", adapters,
            "--cache-dir", Path.Combine(modelRoot, "cache"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await Eventually.ValueAsync(async () => (await http.GetAsync("health")).IsSuccessStatusCode ? "up" : null, TimeSpan.FromSeconds(90), () => server.Log);
        var text = BpeTokenizer.Load(hf).Decode(prompt);
        var response = await http.PostAsJsonAsync("v1/completions", new { model = "tuned", prompt = text, max_tokens = tokens, temperature = 0, return_token_ids = true });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return [.. JsonNode.Parse(body)!["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!)];
    }
}
