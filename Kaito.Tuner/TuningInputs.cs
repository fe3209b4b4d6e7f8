namespace Kaito.Tuner;

/// <summary>Checks the job's mounted inputs before any expensive work, naming every problem at once.</summary>
public static class TuningInputs
{
    public static IReadOnlyList<string> FindProblems(TunerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();

        if (!File.Exists(options.Config))
        {
            problems.Add($"training config {options.Config} does not exist (--config)");
        }

        if (!Directory.Exists(options.Data) && string.IsNullOrWhiteSpace(options.DataUrls))
        {
            problems.Add($"data folder {options.Data} does not exist (--data) and no --data-urls are given");
        }

        if (!Directory.Exists(options.Model))
        {
            problems.Add($"base model folder {options.Model} does not exist (--model)");
        }

        if (!string.IsNullOrEmpty(options.OutputImage) && string.IsNullOrEmpty(options.DockerConfig))
        {
            problems.Add("--output-image needs --docker-config with push credentials");
        }

        if (!string.IsNullOrEmpty(options.DockerConfig) && !File.Exists(options.DockerConfig))
        {
            problems.Add($"docker config {options.DockerConfig} does not exist (--docker-config)");
        }

        if (options.Device is not ("auto" or "cpu" or "cuda"))
        {
            problems.Add($"--device must be auto, cpu or cuda, not '{options.Device}'");
        }

        return problems;
    }
}
