namespace Kaito.Testing;

/// <summary>Paths in the repository the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>A file in a project's build output, for the configuration the tests were built in.</summary>
    public static string BuildOutput(string project, string file)
    {
        // tests/<project>/bin/<Configuration>/<framework>/[<runtime>/]; projects with native ML packages build for a
        // runtime identifier and add its folder.
        var framework = new DirectoryInfo(AppContext.BaseDirectory);
        if (framework.Name == RuntimeIdentifier)
        {
            framework = framework.Parent!;
        }

        var configuration = framework.Parent!.Name;
        var path = Path.Combine(Root, project, "bin", configuration, framework.Name, file);
        var withRuntime = Path.Combine(Root, project, "bin", configuration, framework.Name, RuntimeIdentifier, file);
        // The runtime folder first: a stale output from before the project chose a runtime may still sit above it.
        return File.Exists(withRuntime) ? withRuntime
            : File.Exists(path) ? path
            : throw new FileNotFoundException($"{path} is missing; build the solution first.", path);
    }

    private const string RuntimeIdentifier = "linux-x64";

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Kaito.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Kaito.sln above {AppContext.BaseDirectory}.");
    }
}
