using System.Diagnostics;

namespace Kaito.Testing;

/// <summary>The real kubectl, run against a kubeconfig.</summary>
public sealed class Kubectl(string kubeconfig)
{
    public async Task<KubectlResult> RunAsync(params string[] arguments) => await RunAsync(arguments, input: null, TimeSpan.FromSeconds(60));

    public async Task<KubectlResult> RunAsync(IReadOnlyList<string> arguments, string? input, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
        };
        info.ArgumentList.Add("--kubeconfig");
        info.ArgumentList.Add(kubeconfig);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("kubectl did not start; is it installed? (./test.sh installs it)");
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {string.Join(' ', arguments)} did not finish in {timeout}");
        }

        return new KubectlResult(process.ExitCode, await output, await error);
    }

    /// <summary>Starts a long-running kubectl (get -w) whose output is read while it runs.</summary>
    public Process Start(params string[] arguments) =>
        Process.Start(StartInfo(new Dictionary<string, string>(), arguments)) ?? throw new InvalidOperationException("kubectl did not start");

    /// <summary>How to start kubectl against this cluster, with extra environment variables (kubectl's KUBECTL_* switches).</summary>
    public ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add("--kubeconfig");
        info.ArgumentList.Add(kubeconfig);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}

public sealed record KubectlResult(int ExitCode, string Output, string Error)
{
    public KubectlResult EnsureSuccess() =>
        ExitCode == 0 ? this : throw new InvalidOperationException($"kubectl failed ({ExitCode}): {Error}{Output}");
}
