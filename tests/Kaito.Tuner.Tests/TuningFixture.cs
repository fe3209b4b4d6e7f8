using Kaito.Models.Tiny;
using Parquet.Serialization;

namespace Kaito.Tuner.Tests;

/// <summary>The tiny model and a learnable OpenAI-messages parquet dataset, generated once per test class.</summary>
public sealed class TuningFixture : IAsyncLifetime
{
    public static readonly string[] Topics = ["pods", "nodes", "services", "jobs", "leases", "secrets", "volumes", "workspaces"];

    public string Root { get; } = Directory.CreateTempSubdirectory("kaito-tuner-tests-").FullName;

    public string Model => Path.Combine(Root, TinyModel.HuggingFaceFolder);

    public string Data => Path.Combine(Root, "data");

    public async Task InitializeAsync()
    {
        TinyModel.Generate(Root);
        Directory.CreateDirectory(Data);
        var random = new Random(1);
        var rows = Enumerable.Range(0, 64).Select(_ => Topics[random.Next(Topics.Length)]).Select(topic => new ConversationRow
        {
            Messages =
            [
                new MessageRow { Role = "user", Content = $"What is {topic}?" },
                new MessageRow { Role = "assistant", Content = $"{topic} run on Kubernetes." },
            ],
        }).ToList();
        await ParquetSerializer.SerializeAsync(rows, Path.Combine(Data, "train-00000-of-00001.parquet"));
    }

    public string Config(string name, string body)
    {
        var path = Path.Combine(Root, $"{name}.yaml");
        File.WriteAllText(path, body);
        return path;
    }

    public static string LoraConfig(int maxSteps, int saveSteps = 500, int batch = 4) => $"""
        training_config:
          ModelConfig:
            torch_dtype: "bfloat16"
          QuantizationConfig:
            load_in_4bit: false
          LoraConfig:
            r: 8
            lora_alpha: 16
            lora_dropout: 0.0
            target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"]
          TrainingArguments:
            output_dir: "/mnt/results"
            per_device_train_batch_size: {batch}
            max_steps: {maxSteps}
            learning_rate: 0.01
            logging_steps: 10
            save_steps: {saveSteps}
            warmup_steps: 2
          DatasetConfig:
            shuffle_dataset: true
            train_test_split: 1
        """;

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }

    public sealed class ConversationRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("messages")]
        public List<MessageRow> Messages { get; set; } = [];
    }

    public sealed class MessageRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("role")]
        public string Role { get; set; } = "";

        [System.Text.Json.Serialization.JsonPropertyName("content")]
        public string Content { get; set; } = "";
    }
}
