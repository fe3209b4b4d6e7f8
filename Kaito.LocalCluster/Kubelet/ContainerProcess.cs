using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kaito.LocalCluster.Kubelet;

/// <summary>
/// One run of a container: a process in its own session and process group (so every process it starts is signalled
/// with it), its stdout and stderr written line by line to a log file in the CRI format the kubelet uses
/// (<c>&lt;RFC 3339 time&gt; stdout|stderr F|P &lt;text&gt;</c>).
/// </summary>
internal sealed class ContainerProcess : IDisposable
{
    private const int MaxLineBytes = 16 * 1024;

    private readonly Process _process;
    private readonly ContainerLogWriter _log;
    private readonly Task _pumps;

    private readonly Task _exited;

    private ContainerProcess(Process process, ContainerLogWriter log)
    {
        _process = process;
        _log = log;
        Pid = process.Id;
        _pumps = Task.WhenAll(Pump(process.StandardOutput, "stdout"), Pump(process.StandardError, "stderr"));
        _exited = process.WaitForExitAsync();
        StartedAt = DateTimeOffset.UtcNow;
    }

    public int Pid { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>The process' stdin, kept open for <c>kubectl attach</c> when the container asks for it (<c>stdin: true</c>), else null.</summary>
    public Stream? Stdin { get; private set; }

    public static ContainerProcess Start(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, ContainerLogWriter log, bool keepStdin = false)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {argv[0]}");
        if (!keepStdin)
        {
            process.StandardInput.Close();
        }

        return new ContainerProcess(process, log) { Stdin = keepStdin ? process.StandardInput.BaseStream : null };
    }

    /// <summary>Waits for the process to end, then for its group and its output; the exit code (128 + signal when killed).</summary>
    public async Task<int> WaitAsync(CancellationToken cancellationToken)
    {
        await _exited.WaitAsync(cancellationToken);
        // Like a container whose init ended: whatever it left running in its group goes too.
        Native.SignalGroup(Pid, Native.SigKill);
        await _pumps.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return _process.ExitCode;
    }

    public bool HasExited => _exited.IsCompleted;

    /// <summary>Whether everything the container printed is in its log (its pipes closed and the last lines written).</summary>
    public bool OutputComplete => _exited.IsCompleted && _pumps.IsCompleted;

    /// <summary>Signals the container's whole process group while its leader runs.</summary>
    public void Signal(int signal)
    {
        if (!HasExited)
        {
            Native.SignalGroup(Pid, signal);
        }
    }

    /// <summary>Closes stdin (a <c>stdinOnce</c> container's first attach ended).</summary>
    public void CloseStdin()
    {
        var stdin = Stdin;
        Stdin = null;
        try
        {
            stdin?.Dispose();
        }
        catch (IOException)
        {
            // the process is gone
        }
    }

    public void Dispose() => _process.Dispose();

    private async Task Pump(StreamReader reader, string stream)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                for (var i = 0; i < read; i++)
                {
                    var c = buffer[i];
                    if (c == '\n')
                    {
                        _log.Write(stream, line.ToString(), partial: false);
                        line.Clear();
                    }
                    else if (line.Length >= MaxLineBytes)
                    {
                        _log.Write(stream, line.ToString(), partial: true);
                        line.Clear().Append(c);
                    }
                    else
                    {
                        line.Append(c);
                    }
                }
            }
        }
        catch (IOException)
        {
            // the pipe broke with the process
        }

        if (line.Length > 0)
        {
            _log.Write(stream, line.ToString(), partial: false);
        }
    }
}

/// <summary>Appends CRI-format lines to a container's log, rotating it once when it passes its size limit.</summary>
internal sealed class ContainerLogWriter : IDisposable
{
    private readonly Lock _gate = new();
    private readonly long _maxBytes;
    private FileStream? _file;

    /// <summary>Creates the log at once: a container that prints nothing still has a (empty) log.</summary>
    public ContainerLogWriter(string path, long maxBytes)
    {
        Path = path;
        _maxBytes = maxBytes;
        _file = Open();
    }

    public string Path { get; }

    /// <summary>A line of the kubelet's own (why a container could not start, GPUs simulated), on stderr.</summary>
    public void Note(string text) => Write("stderr", text, partial: false);

    public void Write(string stream, string text, bool partial)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'} {stream} {(partial ? 'P' : 'F')} {text.TrimEnd('\r')}\n");
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (_gate)
        {
            _file ??= Open();
            if (_file.Length + bytes.Length > _maxBytes && _file.Length > 0)
            {
                _file.Dispose();
                File.Move(Path, Path + ".1", overwrite: true);
                _file = Open();
            }

            _file.Write(bytes);
            _file.Flush();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private FileStream Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        return new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }
}
